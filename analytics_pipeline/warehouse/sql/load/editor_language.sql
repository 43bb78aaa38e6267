insert into fct_editor_language_activity by name
select
    $date::date as date,
    user_key(user_email, service_account_name) as user_key,
    * exclude (raw_json),
    $organization as organization
from read_parquet($path, hive_partitioning = false)
