-- Which of $days can be derived now, and whether dau-count reports each empty: its dau_count and
-- daily_usage partitions are loaded, and so is its editor_language unless the day is empty.
with days as (
    select unnest($days::date[]) as date
),

loaded as (
    select endpoint, date
    from pipeline_partitions
    where organization = $organization and date in (select date from days)
),

final as (
    select
        days.date,
        counted.user_count = 0 as empty
    from days
    inner join fct_dau_count as counted
        on counted.organization = $organization and counted.date = days.date
    where
        exists (select 1 from loaded where loaded.endpoint = $daily_usage and loaded.date = days.date)
        and (
            counted.user_count = 0
            or exists (
                select 1 from loaded where loaded.endpoint = $editor_language and loaded.date = days.date
            )
        )
)

select date, empty from final order by date
