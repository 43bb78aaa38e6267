-- Adoption: each member's first, last and recent activity, and a status. A member is (organisation,
-- user_key), and each organisation's windows are its own most recent loaded days.

create or replace view user_adoption as
with loaded_days as (
    select
        a.organization,
        a.date,
        row_number() over (partition by a.organization order by a.date desc) as recency
    from analysis_days as a
    where a.loaded
),

windows as (
    select
        d.organization,
        max(d.date) as as_of_date,
        min(d.date) filter (where d.recency <= 7) as last_7_start,
        min(d.date) filter (where d.recency <= 28) as last_28_start
    from loaded_days as d
    group by d.organization
),

per_user as (
    select
        u.organization,
        u.user_key,
        any_value(u.user_email) as user_email,
        any_value(u.service_account_name) as service_account_name,
        bool_or(u.service_account_name is not null) as is_service_account,
        min(u.date) as first_active_date,
        max(u.date) as last_active_date,
        count(distinct u.date) as active_days,
        count(distinct u.date) filter (where d.recency <= 7) as active_days_last_7,
        count(distinct u.date) filter (where d.recency <= 28) as active_days_last_28
    from fct_dau_users as u
    left join loaded_days as d on d.organization = u.organization and d.date = u.date
    group by u.organization, u.user_key
),

final as (
    select
        p.organization,
        p.user_key,
        p.user_email,
        p.service_account_name,
        p.is_service_account,
        p.first_active_date,
        p.last_active_date,
        p.active_days,
        p.active_days_last_7,
        p.active_days_last_28,
        w.as_of_date,
        datediff('day', p.last_active_date, w.as_of_date) as days_since_last_active,
        case
            when p.first_active_date >= w.last_7_start then 'new'
            when p.active_days_last_7 > 0 then 'active'
            when p.active_days_last_28 > 0 then 'idle'
            else 'dormant'
        end as status
    from per_user as p
    left join windows as w on w.organization = p.organization
)

select * from final
order by final.organization, final.user_key;
