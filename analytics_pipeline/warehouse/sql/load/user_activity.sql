-- Queried one day at a time, so active_days is always 1 and is not kept at this grain.
insert into fct_user_activity by name
select
    partition_date as date,
    user_key(user_email, service_account_name) as user_key,
    * exclude (raw_json, active_days, partition_date, partition_fetched_at),
    $organization as organization
from {{ landed }}
