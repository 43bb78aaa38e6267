-- Every identity an organisation's fact tables hold, with the first and last day it was active: the
-- organisation's rows rebuilt in full (delete_dim_users.sql removed them). The same email in two
-- organisations is two members.
insert into dim_users by name
with seen as (
    select user_key, user_email, service_account_name, date
    from fct_dau_users
    where organization = $organization
    union all
    select user_key, user_email, service_account_name, date
    from fct_user_activity
    where organization = $organization
    union all
    select user_key, user_email, service_account_name, date
    from fct_editor_language_activity
    where organization = $organization
    union all
    select user_key, user_email, service_account_name, date
    from fct_credit_usage
    where organization = $organization
    union all
    -- Seen in a month or a budget snapshot only: present, but with no known active day yet.
    select user_key, user_email, service_account_name, null::date
    from fct_user_activity_monthly
    where organization = $organization
    union all
    select user_key, user_email, service_account_name, null::date
    from fct_budget_overrides
    where organization = $organization
),

final as (
    select
        user_key,
        any_value(user_email) as user_email,
        any_value(service_account_name) as service_account_name,
        bool_or(service_account_name is not null) as is_service_account,
        min(date) as first_active_date,
        max(date) as last_active_date,
        $organization as organization
    from seen
    group by user_key
)

select * from final
