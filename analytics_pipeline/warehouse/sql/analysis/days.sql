-- Which days are loaded, the calendar of a range, and the periods of the series macros.

create or replace view analysis_days as
with recorded as (
    select
        p.date,
        list(p.endpoint order by p.endpoint) as endpoints,
        bool_and(p.status = 'empty') as all_empty,
        coalesce(bool_or(p.provisional), false) as provisional
    from pipeline_partitions as p
    where list_contains(analysis_endpoints(), p.endpoint)
    group by p.date
),

missing as (
    select
        r.date,
        [e for e in analysis_endpoints() if not list_contains(r.endpoints, e)] as missing_endpoints,
        r.all_empty,
        r.provisional
    from recorded as r
),

final as (
    select
        m.date,
        len(m.missing_endpoints) = 0 as loaded,
        m.missing_endpoints,
        len(m.missing_endpoints) = 0 and m.all_empty as no_activity,
        m.provisional
    from missing as m
)

select * from final
order by final.date;

create or replace macro analysis_calendar(start_date, end_date) as table
with days as (
    select g.day::date as date
    from generate_series(start_date::date, end_date::date, interval 1 day) as g(day)
),

final as (
    select
        d.date,
        coalesce(a.loaded, false) as loaded,
        coalesce(a.missing_endpoints, analysis_endpoints()) as missing_endpoints,
        coalesce(a.no_activity, false) as no_activity,
        coalesce(a.provisional, false) as provisional
    from days as d
    left join analysis_days as a on a.date = d.date
)

select * from final
order by final.date;

-- The series' grain, lower-cased: 'day', 'week' or 'month', or an error naming what was given.
create or replace macro analysis_grain(grain) as
    case
        when lower(grain) in ('day', 'week', 'month') then lower(grain)
        else error('grain must be ''day'', ''week'' or ''month'', got ''' || coalesce(grain, 'NULL') || '''')
    end;

-- One row per day, ISO week (Monday) or month overlapping the range: its bounds and how many of its
-- days in the range are loaded. The series macros share it, so their periods always agree.
create or replace macro analysis_periods(grain, start_date, end_date) as table
with guard as (
    select analysis_grain(grain) as grain
),

days as (
    select
        date_trunc(g.grain, c.date)::date as period_start,
        g.grain,
        c.loaded
    from analysis_calendar(start_date, end_date) as c
    cross join guard as g
),

final as (
    select
        d.period_start,
        case any_value(d.grain)
            when 'day' then d.period_start
            when 'week' then d.period_start + 6
            else last_day(d.period_start)
        end as period_end,
        count(*) as days_in_range,
        count(*) filter (where d.loaded) as days_loaded
    from days as d
    group by d.period_start
)

select * from final
order by final.period_start;
