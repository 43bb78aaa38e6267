-- The days of $days whose derived members or metric sums disagree with the API's own day: dau-count's
-- number of members, or daily-usage's totals (a day daily-usage omits has no activity).
with days as (
    select unnest($days::date[]) as date
),

derived as (
    select
        date,
        count(*) as users,
        {{ metric_sums }}
    from derived_user_days
    group by date
),

api as (
    select *
    from fct_daily_usage
    where organization = $organization and date in (select date from days)
),

final as (
    select days.date
    from days
    left join fct_dau_count as counted
        on counted.organization = $organization and counted.date = days.date
    left join api on api.date = days.date
    left join derived on derived.date = days.date
    where
        counted.user_count is distinct from coalesce(derived.users, 0)
        or api.date is distinct from derived.date
        or {{ metrics_differ }}
)

select date from final order by date
