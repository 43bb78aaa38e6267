-- Of the organisation's loaded days with activity and editor-language loaded: how many, and how many whose
-- editor-language rows do not add up to dau-count's members or daily-usage's totals (the days a
-- derivation would have fetched after all): the plan's fallback share, learned.
with derived as (
    select
        date,
        count(distinct user_key) as users,
        {{ metric_sums }}
    from fct_editor_language_activity
    where organization = $organization
    group by date
),

checked as (
    select
        counted.user_count is distinct from coalesce(derived.users, 0)
        or api.date is distinct from derived.date
        or {{ metrics_differ }} as failing
    from fct_dau_count as counted
    left join fct_daily_usage as api on api.organization = counted.organization and api.date = counted.date
    left join derived on derived.date = counted.date
    where
        counted.organization = $organization
        and counted.user_count > 0
        and counted.date in (
            select date
            from pipeline_partitions
            where organization = $organization and endpoint = $editor_language
        )
)

select count(*) as days, count(*) filter (where failing) as failing from checked
