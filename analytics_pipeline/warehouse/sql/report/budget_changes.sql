-- The latest budget changes budgets apply sent, newest first.
select
    c.changed_at,
    c.organization,
    c.user_email,
    c.resource,
    c.period,
    c.action,
    c.old_limit,
    c.new_limit,
    c.outcome,
    c.error,
    c.changed_by
from fct_budget_changes as c
where coalesce($organization, 'all') = 'all' or c.organization = $organization
order by c.changed_at desc, c.organization, c.user_email, c.resource, c.period
limit $limit
