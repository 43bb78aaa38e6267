-- One calendar month as the API sums it: active_days and metrics over the month, per user.
insert into fct_user_activity_monthly by name
select
    $date::date as month,
    user_key(user_email, service_account_name) as user_key,
    * exclude (raw_json),
    $organization as organization
from read_parquet($path, hive_partitioning = false)
