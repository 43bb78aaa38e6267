select * from budget_utilisation($month)
