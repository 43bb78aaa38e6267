-- The API's per-member sums of part of a month (user-activity over the backfill's days of it, registered
-- as window_answer by the caller): the answer when the month's other days are not loaded.
create or replace temp table month_answer as
select
    user_key(user_email, service_account_name) as user_key,
    * exclude (user_email, service_account_name)
from window_answer
