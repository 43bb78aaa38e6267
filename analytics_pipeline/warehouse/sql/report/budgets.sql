select * from budget_utilisation($month, organization := $organization)
