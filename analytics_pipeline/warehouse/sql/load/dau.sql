insert into fct_dau_users by name
select
    $date::date as date,
    user_key(user_email, service_account_name) as user_key,
    user_email,
    service_account_name,
    $organization as organization
from read_parquet($path, hive_partitioning = false)
