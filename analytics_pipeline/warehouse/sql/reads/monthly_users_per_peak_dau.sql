-- An organisation's active users in a calendar month per its highest DAU, over the months with at least
-- $days days of DAU.
with monthly as (
    select month, count(distinct user_key) as users
    from fct_user_activity_monthly
    where organization = $organization
    group by month
),

peak as (
    select date_trunc('month', date)::date as month, max(user_count) as dau
    from fct_dau_count
    where organization = $organization
    group by 1
    having count(*) >= $days
),

final as (
    select sum(monthly.users)::double / nullif(sum(peak.dau), 0) as ratio
    from monthly
    join peak using (month)
)

select ratio from final
