-- One calendar month as the API sums it: active_days and metrics over the month, per user.
insert into fct_user_activity_monthly by name
select
    partition_date as month,
    user_key(user_email, service_account_name) as user_key,
    * exclude (raw_json, partition_date, partition_fetched_at),
    $organization as organization
from {{ landed }}
