insert into fct_credit_usage by name
select
    date,
    user_key(user_email, service_account_name) as user_key,
    user_email,
    service_account_name,
    model_name,
    credits_consumed,
    $organization as organization
from {{ landed }}
where date = partition_date
