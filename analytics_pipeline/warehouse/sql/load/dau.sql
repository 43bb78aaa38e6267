insert into fct_dau_users by name
select
    partition_date as date,
    user_key(user_email, service_account_name) as user_key,
    user_email,
    service_account_name,
    $organization as organization
from {{ landed }}
