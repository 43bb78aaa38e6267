-- The people (not service accounts) an organisation's warehouse has seen: who may have a budget.
select d.user_email
from dim_users as d
where d.organization = $organization and not d.is_service_account and d.user_email is not null
order by d.user_email
