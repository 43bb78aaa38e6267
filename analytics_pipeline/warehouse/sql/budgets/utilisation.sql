-- Each member's use of their current overrides this month, beside a budget plan.
select u.user_key, u.resource, u.period, u.percent_used, u.projected_month_end
from budget_utilisation($month, organization := $organization) as u
