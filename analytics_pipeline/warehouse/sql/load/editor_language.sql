insert into fct_editor_language_activity by name
select
    partition_date as date,
    user_key(user_email, service_account_name) as user_key,
    * exclude (raw_json, partition_date, partition_fetched_at),
    $organization as organization
from {{ landed }}
