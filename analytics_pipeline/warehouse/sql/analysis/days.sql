-- Which days are loaded, per organisation and for a filter, the calendar of a range, and the periods of
-- the series macros.

-- One row per organisation and day with any of the four per-user endpoints recorded.
create or replace view analysis_days as
with recorded as (
    select
        p.organization,
        p.date,
        list(p.endpoint order by p.endpoint) as endpoints,
        bool_and(p.status = 'empty') as all_empty,
        coalesce(bool_or(p.provisional), false) as provisional
    from pipeline_partitions as p
    where list_contains(analysis_endpoints(), p.endpoint)
    group by p.organization, p.date
),

missing as (
    select
        r.organization,
        r.date,
        [e for e in analysis_endpoints() if not list_contains(r.endpoints, e)] as missing_endpoints,
        r.all_empty,
        r.provisional
    from recorded as r
),

final as (
    select
        m.organization,
        m.date,
        len(m.missing_endpoints) = 0 as loaded,
        m.missing_endpoints,
        len(m.missing_endpoints) = 0 and m.all_empty as no_activity,
        m.provisional
    from missing as m
)

select * from final
order by final.organization, final.date;

-- The organisations a filter covers: the one named, or (organization := 'all' or NULL) every
-- organisation present in the warehouse, i.e. with a row in analysis_days.
create or replace macro analysis_organizations(organization := 'all') as table
with present as (
    select distinct a.organization
    from analysis_days as a
    where coalesce(organization, 'all') = 'all'
),

named as (
    select organization::varchar as organization
    where coalesce(organization, 'all') <> 'all'
),

final as (
    select p.organization from present as p
    union
    select n.organization from named as n
)

select * from final
order by final.organization;

-- One row per day of the range. With one organisation, its own days. With organization := 'all' (or
-- NULL), a day is loaded only when every organisation present in the warehouse has it loaded, so that a
-- number over all organisations never mixes a complete organisation's day with an incomplete one's.
-- A day not loaded and older than the API's lookback is beyond_reach: no longer missing, as it can no
-- longer be fetched.
create or replace macro analysis_calendar(start_date, end_date, organization := 'all') as table
with days as (
    select g.day::date as date
    from generate_series(start_date::date, end_date::date, interval 1 day) as g(day)
),

scope as (
    select o.organization from analysis_organizations(organization := organization) as o
),

per_organization as (
    select
        d.date,
        s.organization,
        coalesce(a.loaded, false) as loaded,
        coalesce(a.missing_endpoints, analysis_endpoints()) as missing_endpoints,
        coalesce(a.no_activity, false) as no_activity,
        coalesce(a.provisional, false) as provisional
    from days as d
    cross join scope as s
    left join analysis_days as a on a.organization = s.organization and a.date = d.date
),

per_day as (
    select
        o.date,
        count(*) as organizations,
        count(*) filter (where o.loaded) as organizations_loaded,
        list_sort(list_distinct(flatten(list(o.missing_endpoints)))) as missing_endpoints,
        list(o.organization order by o.organization) filter (where not o.loaded) as missing_organizations,
        bool_and(o.no_activity) as no_activity,
        bool_or(o.provisional) as provisional
    from per_organization as o
    group by o.date
),

final as (
    select
        d.date,
        coalesce(p.organizations > 0 and p.organizations_loaded = p.organizations, false) as loaded,
        coalesce(p.missing_endpoints, analysis_endpoints()) as missing_endpoints,
        coalesce(p.missing_organizations, []::varchar[]) as missing_organizations,
        coalesce(p.no_activity, false) as no_activity,
        coalesce(p.provisional, false) as provisional,
        not coalesce(p.organizations > 0 and p.organizations_loaded = p.organizations, false)
            and d.date < f.floor as beyond_reach
    from days as d
    cross join (select analysis_reach_floor() as floor) as f
    left join per_day as p on p.date = d.date
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
-- days in the range are loaded, or beyond the API's reach (for the organisation, as analysis_calendar
-- says). The series macros share it, so their periods always agree.
create or replace macro analysis_periods(grain, start_date, end_date, organization := 'all') as table
with guard as (
    select analysis_grain(grain) as grain
),

days as (
    select
        date_trunc(g.grain, c.date)::date as period_start,
        g.grain,
        c.loaded,
        c.beyond_reach
    from analysis_calendar(start_date, end_date, organization := organization) as c
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
        count(*) filter (where d.loaded) as days_loaded,
        count(*) filter (where d.beyond_reach) as days_beyond_reach
    from days as d
    group by d.period_start
)

select * from final
order by final.period_start;
