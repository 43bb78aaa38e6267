-- $endpoints of each of $days recorded as derived: no request of their own, the rows derived, fetched
-- when the answers they were derived and checked from were (editor-language, dau-count). Only final days
-- are derived: never provisional.
insert into pipeline_partitions by name
with days as (
    select unnest($days::date[]) as date
),

endpoints as (
    select unnest($endpoints::varchar[]) as endpoint
),

users as (
    select date, count(*) as rows
    from derived_user_days
    group by date
),

fetched as (
    select date, max(fetched_at) as fetched_at
    from pipeline_partitions
    where
        organization = $organization
        and endpoint in ($editor_language, $dau_count)
        and date in (select date from days)
    group by date
),

final as (
    select
        endpoints.endpoint,
        days.date,
        coalesce(users.rows, 0) as rows,
        0 as requests,
        0 as pages,
        case when coalesce(users.rows, 0) > 0 then 'loaded' else 'empty' end as status,
        fetched.fetched_at,
        now() as loaded_at,
        null::date as window_start,
        null::date as window_end,
        null::varchar[] as unknown_fields,
        fetched.fetched_at as checked_at,
        false as provisional,
        null::varchar as content_digest,
        'derived' as source,
        $organization as organization
    from days
    cross join endpoints
    left join users on users.date = days.date
    left join fetched on fetched.date = days.date
)

select * from final
