-- Every identity seen anywhere, with the first and last day it was active: rebuilt in full.
delete from dim_users;

insert into dim_users by name
with seen as (
    select user_key, user_email, service_account_name, date from fct_dau_users
    union all
    select user_key, user_email, service_account_name, date from fct_user_activity
    union all
    select user_key, user_email, service_account_name, date from fct_editor_language_activity
    union all
    select user_key, user_email, service_account_name, date from fct_credit_usage
    union all
    -- Seen in a month or a budget snapshot only: present, but with no known active day yet.
    select user_key, user_email, service_account_name, null::date from fct_user_activity_monthly
    union all
    select user_key, user_email, service_account_name, null::date from fct_budget_overrides
),

final as (
    select
        user_key,
        any_value(user_email) as user_email,
        any_value(service_account_name) as service_account_name,
        bool_or(service_account_name is not null) as is_service_account,
        min(date) as first_active_date,
        max(date) as last_active_date
    from seen
    group by user_key
)

select * from final
