-- The API's per-member sums of a calendar month, as the coarse pass loaded them: the answer a month's
-- derived days are checked against (members_differ.sql).
create or replace temp table month_answer as
select * exclude (month, user_email, service_account_name, organization)
from fct_user_activity_monthly
where organization = $organization and month = $month
