-- The API sends limits as decimal strings; a value that is not a number fails the load loudly.
insert into fct_budget_overrides by name
select
    partition_date as snapshot_date,
    user_key(user_email, null) as user_key,  -- overrides are for people only
    user_email,
    null::varchar as service_account_name,
    resource,
    period,
    "limit"::decimal(38, 6) as limit_value,
    partition_fetched_at as fetched_at,
    $organization as organization
from {{ landed }}
