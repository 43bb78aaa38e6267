-- The analysis layer: views and table macros that answer the questions users bring to the warehouse
-- (a summary for a period, a time series, breakdowns, credits, budgets, adoption). Created or replaced
-- by install_analysis() each time a writer connects; comments.sql documents every object.
--
-- Conventions of every macro:
--   * dates are inclusive and may be given as DATE or as 'YYYY-MM-DD' text;
--   * filters user_key, editor and language default to 'all' (NULL means 'all' too);
--   * only loaded days are read (see analysis_days): every number in a row covers the same days,
--     and a day that is not loaded is reported as missing, never as zero activity;
--   * inside a macro a bare name that matches a parameter (user_key, editor, language, month, grain)
--     means the parameter, so table columns are always qualified with their table's alias.

-- Which version of this layer is installed (a digest of schema.sql, analysis.sql and comments.sql):
-- install_analysis() re-creates the layer only when it changed.
create table if not exists analysis_installed (
    digest varchar not null,
    installed_at timestamptz not null
);

-- The metric columns, in the API's order: select columns(metric_names()) from fct_daily_usage.
create or replace macro metric_names() as [
    'total_modified_lines_of_code',
    'total_messages',
    'total_tool_calls',
    'completions_count',
    'completions_accepted',
    'completions_lines_of_code',
    'completions_suggested_lines_of_code',
    'chat_messages',
    'remote_agent_messages',
    'remote_agent_lines_of_code',
    'ide_agent_messages',
    'ide_agent_lines_of_code',
    'cli_agent_interactive_messages',
    'cli_agent_interactive_lines_of_code',
    'cli_agent_non_interactive_messages',
    'cli_agent_non_interactive_lines_of_code'
];

-- An aggregate: the sum of x over the group; 0 for no rows; NULL when any row's x is NULL (unknown).
create or replace macro known_sum(x) as if(count(x) = count(*), coalesce(sum(x), 0), null)::bigint;

-- The per-user daily endpoints the analysis macros read; a day is loaded when all four are recorded.
create or replace macro analysis_endpoints() as ['credit_usage', 'dau', 'editor_language', 'user_activity'];

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

-- One row per loaded day and member with activity, metrics or credits, after the filters.
create or replace macro usage_rows(
    start_date, end_date, user_key := 'all', editor := 'all', language := 'all'
) as table
with loaded_days as (
    select c.date
    from analysis_calendar(start_date, end_date) as c
    where c.loaded
),

filters as (
    select
        coalesce(user_key, 'all') = 'all' as all_users,
        coalesce(editor, 'all') = 'all' and coalesce(language, 'all') = 'all' as all_editors_languages
),

-- Metrics per member and day: fct_user_activity, unless an editor or language filter is given, in
-- which case fct_editor_language_activity (the one table with those dimensions), summed over them.
by_user as (
    select
        u.date,
        u.user_key as member,
        u.user_email,
        u.service_account_name,
        columns(metric_names())
    from fct_user_activity as u, filters as f
    where f.all_editors_languages
        and u.date in (select d.date from loaded_days as d)
        and (f.all_users or u.user_key = user_key)
),

by_editor_language as (
    select
        e.date,
        e.user_key as member,
        any_value(e.user_email) as user_email,
        any_value(e.service_account_name) as service_account_name,
        known_sum(columns(metric_names()))
    from fct_editor_language_activity as e, filters as f
    where not f.all_editors_languages
        and e.date in (select d.date from loaded_days as d)
        and (f.all_users or e.user_key = user_key)
        and (coalesce(editor, 'all') = 'all' or e.editor = editor)
        and (coalesce(language, 'all') = 'all' or e.language = language)
    group by e.date, e.user_key
),

metrics as (
    select * from by_user
    union all by name
    select * from by_editor_language
),

-- Active: in the API's list of active users (fct_dau_users); with an editor or language filter,
-- a row in fct_editor_language_activity for that editor or language.
active as (
    select
        a.date,
        a.user_key as member,
        a.user_email,
        a.service_account_name
    from fct_dau_users as a, filters as f
    where f.all_editors_languages
        and a.date in (select d.date from loaded_days as d)
        and (f.all_users or a.user_key = user_key)
    union all
    select m.date, m.member, m.user_email, m.service_account_name
    from by_editor_language as m
),

-- Credits have no editor or language: none are read when either filter is given.
credits as (
    select
        c.date,
        c.user_key as member,
        any_value(c.user_email) as user_email,
        any_value(c.service_account_name) as service_account_name,
        sum(c.credits_consumed) as credits_consumed
    from fct_credit_usage as c, filters as f
    where f.all_editors_languages
        and c.date in (select d.date from loaded_days as d)
        and (f.all_users or c.user_key = user_key)
    group by c.date, c.user_key
),

members as (
    select a.date, a.member from active as a
    union
    select m.date, m.member from metrics as m
    union
    select c.date, c.member from credits as c
),

final as (
    select
        k.date,
        k.member as user_key,
        coalesce(a.user_email, m.user_email, c.user_email) as user_email,
        coalesce(a.service_account_name, m.service_account_name, c.service_account_name)
            as service_account_name,
        coalesce(a.service_account_name, m.service_account_name, c.service_account_name) is not null
            as is_service_account,
        a.member is not null as is_active,
        -- No metrics row: nothing was done (0). A row with NULL: the API omitted the field (unknown).
        if(m.member is null, 0, columns(metric_names()))::bigint,
        if(f.all_editors_languages, coalesce(c.credits_consumed, 0), null) as credits_consumed
    from members as k
    cross join filters as f
    left join active as a on a.date = k.date and a.member = k.member
    left join metrics as m on m.date = k.date and m.member = k.member
    left join credits as c on c.date = k.date and c.member = k.member
)

select * from final
order by final.date, final.user_key;

create or replace macro usage_summary(
    start_date, end_date, user_key := 'all', editor := 'all', language := 'all'
) as table
with calendar as (
    select
        count(*) as days_in_range,
        count(*) filter (where c.loaded) as days_loaded
    from analysis_calendar(start_date, end_date) as c
),

totals as (
    select
        count(distinct r.user_key) filter (where r.is_active) as active_users,
        count(distinct r.user_key) filter (where r.is_active and not r.is_service_account) as active_people,
        count(distinct r.user_key) filter (where r.is_active and r.is_service_account)
            as active_service_accounts,
        known_sum(columns(metric_names())),
        sum(r.completions_lines_of_code) filter (where r.completions_suggested_lines_of_code is not null)
            as _lines_with_known_suggestions,
        sum(r.completions_suggested_lines_of_code) as _known_suggested_lines,
        sum(r.credits_consumed) as _credits
    from usage_rows(start_date, end_date, user_key := user_key, editor := editor, language := language) as r
),

final as (
    select
        start_date::date as start_date,
        end_date::date as end_date,
        c.days_in_range,
        c.days_loaded,
        c.days_in_range - c.days_loaded as days_missing,
        if(c.days_loaded = 0, null, t.active_users) as active_users,
        if(c.days_loaded = 0, null, t.active_people) as active_people,
        if(c.days_loaded = 0, null, t.active_service_accounts) as active_service_accounts,
        if(c.days_loaded = 0, null, columns(metric_names())),
        t.completions_accepted / nullif(t.completions_count, 0) as completion_acceptance_rate,
        t._lines_with_known_suggestions / nullif(t._known_suggested_lines, 0) as line_acceptance_rate,
        t.total_messages / nullif(t.active_users, 0) as messages_per_active_user,
        t.total_modified_lines_of_code / nullif(t.active_users, 0) as lines_per_active_user,
        if(
            c.days_loaded = 0 or coalesce(editor, 'all') <> 'all' or coalesce(language, 'all') <> 'all',
            null,
            coalesce(t._credits, 0)
        ) as credits_consumed
    from calendar as c
    cross join totals as t
)

select * from final;

create or replace macro usage_timeseries(
    grain, start_date, end_date, user_key := 'all', editor := 'all', language := 'all'
) as table
with guard as (
    select analysis_grain(grain) as grain
),

periods as (
    select * from analysis_periods(grain, start_date, end_date)
),

totals as (
    select
        date_trunc(g.grain, r.date)::date as period_start,
        count(distinct r.user_key) filter (where r.is_active) as active_users,
        count(distinct r.user_key) filter (where r.is_active and not r.is_service_account) as active_people,
        count(distinct r.user_key) filter (where r.is_active and r.is_service_account)
            as active_service_accounts,
        known_sum(columns(metric_names())),
        sum(r.completions_lines_of_code) filter (where r.completions_suggested_lines_of_code is not null)
            as _lines_with_known_suggestions,
        sum(r.completions_suggested_lines_of_code) as _known_suggested_lines,
        sum(r.credits_consumed) as _credits
    from usage_rows(start_date, end_date, user_key := user_key, editor := editor, language := language) as r
    cross join guard as g
    group by all
),

final as (
    select
        p.period_start,
        p.period_end,
        p.days_in_range,
        p.days_loaded,
        p.days_in_range - p.days_loaded as days_missing,
        p.days_loaded = p.days_in_range as loaded,
        -- No day loaded: unknown (NULL). Loaded with no activity: zero.
        if(p.days_loaded = 0, null, coalesce(t.active_users, 0)) as active_users,
        if(p.days_loaded = 0, null, coalesce(t.active_people, 0)) as active_people,
        if(p.days_loaded = 0, null, coalesce(t.active_service_accounts, 0)) as active_service_accounts,
        if(p.days_loaded = 0, null, if(t.period_start is null, 0, columns(metric_names())))::bigint,
        t.completions_accepted / nullif(t.completions_count, 0) as completion_acceptance_rate,
        t._lines_with_known_suggestions / nullif(t._known_suggested_lines, 0) as line_acceptance_rate,
        t.total_messages / nullif(t.active_users, 0) as messages_per_active_user,
        t.total_modified_lines_of_code / nullif(t.active_users, 0) as lines_per_active_user,
        if(
            p.days_loaded = 0 or coalesce(editor, 'all') <> 'all' or coalesce(language, 'all') <> 'all',
            null,
            coalesce(t._credits, 0)
        ) as credits_consumed
    from periods as p
    left join totals as t on t.period_start = p.period_start
)

select * from final
order by final.period_start;

-- Daily, weekly and monthly actives as trailing windows: for each day, the distinct members active on
-- it, in the 7 days and in the 28 days ending on it (the windows reach back before start_date).
create or replace macro active_users_trailing(
    start_date, end_date, user_key := 'all', editor := 'all', language := 'all'
) as table
with calendar as (
    select c.date, c.loaded
    from analysis_calendar(start_date::date - 27, end_date) as c
),

days as (
    select c.date, c.loaded
    from calendar as c
    where c.date >= start_date::date
),

active as (
    select distinct r.date, r.user_key as member
    from usage_rows(
        start_date::date - 27, end_date, user_key := user_key, editor := editor, language := language
    ) as r
    where r.is_active
),

coverage as (
    select
        d.date,
        count(*) filter (where w.loaded and w.date > d.date - 7) as week_days_loaded,
        count(*) filter (where w.loaded) as month_days_loaded
    from days as d
    inner join calendar as w on w.date between d.date - 27 and d.date
    group by d.date
),

windows as (
    select
        d.date,
        count(distinct a.member) filter (where a.date = d.date) as dau,
        count(distinct a.member) filter (where a.date > d.date - 7) as wau,
        count(distinct a.member) as mau
    from days as d
    inner join active as a on a.date between d.date - 27 and d.date
    group by d.date
),

-- A day not loaded has no DAU (unknown); a window without a loaded day has no WAU or MAU.
final as (
    select
        d.date,
        d.loaded,
        if(d.loaded, coalesce(w.dau, 0), null) as dau,
        if(v.week_days_loaded = 0, null, coalesce(w.wau, 0)) as wau,
        if(v.month_days_loaded = 0, null, coalesce(w.mau, 0)) as mau,
        v.week_days_loaded,
        v.month_days_loaded
    from days as d
    inner join coverage as v on v.date = d.date
    left join windows as w on w.date = d.date
)

select * from final
order by final.date;

create or replace macro usage_by_user(
    start_date, end_date, user_key := 'all', editor := 'all', language := 'all'
) as table
with per_user as (
    select
        r.user_key as member,
        any_value(r.user_email) as user_email,
        any_value(r.service_account_name) as service_account_name,
        bool_or(r.is_service_account) as is_service_account,
        count(distinct r.date) filter (where r.is_active) as active_days,
        min(r.date) filter (where r.is_active) as first_active_date,
        max(r.date) filter (where r.is_active) as last_active_date,
        known_sum(columns(metric_names())),
        sum(r.completions_lines_of_code) filter (where r.completions_suggested_lines_of_code is not null)
            as _lines_with_known_suggestions,
        sum(r.completions_suggested_lines_of_code) as _known_suggested_lines,
        sum(r.credits_consumed) as credits_consumed
    from usage_rows(start_date, end_date, user_key := user_key, editor := editor, language := language) as r
    group by r.user_key
),

final as (
    select
        p.member as user_key,
        p.user_email,
        p.service_account_name,
        p.is_service_account,
        p.active_days,
        p.first_active_date,
        p.last_active_date,
        columns(metric_names()),
        p.completions_accepted / nullif(p.completions_count, 0) as completion_acceptance_rate,
        p._lines_with_known_suggestions / nullif(p._known_suggested_lines, 0) as line_acceptance_rate,
        p.total_messages / nullif(p.active_days, 0) as messages_per_active_day,
        p.total_modified_lines_of_code / nullif(p.active_days, 0) as lines_per_active_day,
        p.credits_consumed
    from per_user as p
)

select * from final
order by final.total_messages desc nulls last, final.user_key;

-- Editor and language breakdowns: fct_editor_language_activity, the one table with those dimensions.
create or replace macro editor_language_rows(
    start_date, end_date, user_key := 'all', editor := 'all', language := 'all'
) as table
select
    e.date,
    e.user_key as member,
    e.service_account_name is not null as is_service_account,
    e.editor as editor_name,
    e.language as language_name,
    columns(metric_names())
from fct_editor_language_activity as e
where e.date in (select c.date from analysis_calendar(start_date, end_date) as c where c.loaded)
    and (coalesce(user_key, 'all') = 'all' or e.user_key = user_key)
    and (coalesce(editor, 'all') = 'all' or e.editor = editor)
    and (coalesce(language, 'all') = 'all' or e.language = language);

-- One breakdown serves both dimensions: the rows grouped by their editor or by their language.
create or replace macro editor_language_breakdown(
    dimension, start_date, end_date, user_key := 'all', editor := 'all', language := 'all'
) as table
with per_value as (
    select
        case dimension
            when 'editor' then r.editor_name
            when 'language' then r.language_name
            else error('dimension must be ''editor'' or ''language'', got ' || dimension)
        end as dimension_value,
        count(distinct r.member) as active_users,
        count(distinct (r.date, r.member)) as active_user_days,
        known_sum(columns(metric_names())),
        sum(r.completions_lines_of_code) filter (where r.completions_suggested_lines_of_code is not null)
            as _lines_with_known_suggestions,
        sum(r.completions_suggested_lines_of_code) as _known_suggested_lines
    from editor_language_rows(
        start_date, end_date, user_key := user_key, editor := editor, language := language
    ) as r
    group by dimension_value
),

final as (
    select
        p.dimension_value,
        p.active_users,
        p.active_user_days,
        columns(metric_names()),
        p.completions_accepted / nullif(p.completions_count, 0) as completion_acceptance_rate,
        p._lines_with_known_suggestions / nullif(p._known_suggested_lines, 0) as line_acceptance_rate,
        p.total_messages / nullif(p.active_users, 0) as messages_per_active_user,
        p.total_modified_lines_of_code / nullif(p.active_users, 0) as lines_per_active_user,
        p.total_modified_lines_of_code / nullif(sum(p.total_modified_lines_of_code) over (), 0)
            as share_of_lines
    from per_value as p
)

select * from final;

create or replace macro usage_by_editor(
    start_date, end_date, user_key := 'all', editor := 'all', language := 'all'
) as table
select b.dimension_value as editor, b.* exclude (dimension_value)
from editor_language_breakdown(
    'editor', start_date, end_date, user_key := user_key, editor := editor, language := language
) as b
order by b.total_modified_lines_of_code desc nulls last, b.dimension_value;

create or replace macro usage_by_language(
    start_date, end_date, user_key := 'all', editor := 'all', language := 'all'
) as table
select b.dimension_value as language, b.* exclude (dimension_value)
from editor_language_breakdown(
    'language', start_date, end_date, user_key := user_key, editor := editor, language := language
) as b
order by b.total_modified_lines_of_code desc nulls last, b.dimension_value;

create or replace macro usage_by_surface(
    start_date, end_date, user_key := 'all', editor := 'all', language := 'all'
) as table
with surfaces as (
    select
        r.user_key as member,
        unnest([
            {'position': 1, 'surface': 'completions', 'messages': r.completions_count,
             'lines_of_code': r.completions_lines_of_code},
            {'position': 2, 'surface': 'chat', 'messages': r.chat_messages,
             'lines_of_code': null::bigint},
            {'position': 3, 'surface': 'remote_agent', 'messages': r.remote_agent_messages,
             'lines_of_code': r.remote_agent_lines_of_code},
            {'position': 4, 'surface': 'ide_agent', 'messages': r.ide_agent_messages,
             'lines_of_code': r.ide_agent_lines_of_code},
            {'position': 5, 'surface': 'cli_interactive', 'messages': r.cli_agent_interactive_messages,
             'lines_of_code': r.cli_agent_interactive_lines_of_code},
            {'position': 6, 'surface': 'cli_non_interactive',
             'messages': r.cli_agent_non_interactive_messages,
             'lines_of_code': r.cli_agent_non_interactive_lines_of_code}
        ], recursive := true)
    from usage_rows(start_date, end_date, user_key := user_key, editor := editor, language := language) as r
),

catalogue as (
    select *
    from (values
        (1, 'completions'), (2, 'chat'), (3, 'remote_agent'),
        (4, 'ide_agent'), (5, 'cli_interactive'), (6, 'cli_non_interactive')
    ) as v(position, surface)
),

per_surface as (
    select
        s.position,
        known_sum(s.messages) as messages,
        if(s.position = 2, null, known_sum(s.lines_of_code)) as lines_of_code,
        count(distinct s.member) filter (where s.messages > 0) as active_users
    from surfaces as s
    group by s.position
),

coverage as (
    select count(*) as days_loaded
    from analysis_calendar(start_date, end_date) as c
    where c.loaded
),

-- No day loaded: unknown (NULL). Loaded with no activity on a surface: zero.
final as (
    select
        k.surface,
        if(v.days_loaded = 0, null, coalesce(p.messages, 0)) as messages,
        if(v.days_loaded = 0 or k.position = 2, null, coalesce(p.lines_of_code, 0)) as lines_of_code,
        if(v.days_loaded = 0, null, coalesce(p.active_users, 0)) as active_users,
        p.lines_of_code / nullif(sum(p.lines_of_code) over (), 0) as share_of_lines,
        k.position
    from catalogue as k
    cross join coverage as v
    left join per_surface as p on p.position = k.position
)

select * exclude (position) from final
order by final.position;

create or replace macro credits_by_model(
    start_date, end_date, user_key := 'all', editor := 'all', language := 'all'
) as table
with guard as (
    select
        case
            when coalesce(editor, 'all') = 'all' and coalesce(language, 'all') = 'all' then true
            else error(
                'credits have no editor or language; call credits_by_model without those filters'
            )
        end as ok
),

credits as (
    select c.date, c.user_key as member, c.model_name, c.credits_consumed
    from fct_credit_usage as c
    cross join guard as g
    where g.ok
        and c.date in (select d.date from analysis_calendar(start_date, end_date) as d where d.loaded)
        and (coalesce(user_key, 'all') = 'all' or c.user_key = user_key)
),

per_model as (
    select
        c.model_name,
        sum(c.credits_consumed) as credits_consumed,
        count(distinct c.member) as users,
        count(distinct c.date) as days_used
    from credits as c
    group by c.model_name
),

final as (
    select
        p.model_name,
        p.credits_consumed,
        p.credits_consumed / nullif(sum(p.credits_consumed) over (), 0) as share_of_credits,
        p.users,
        p.days_used
    from per_model as p
)

select * from final
order by final.credits_consumed desc, final.model_name;

create or replace macro credits_by_user(
    start_date, end_date, user_key := 'all', editor := 'all', language := 'all'
) as table
with guard as (
    select
        case
            when coalesce(editor, 'all') = 'all' and coalesce(language, 'all') = 'all' then true
            else error(
                'credits have no editor or language; call credits_by_user without those filters'
            )
        end as ok
),

credits as (
    select
        c.date,
        c.user_key as member,
        c.user_email,
        c.service_account_name,
        c.model_name,
        c.credits_consumed
    from fct_credit_usage as c
    cross join guard as g
    where g.ok
        and c.date in (select d.date from analysis_calendar(start_date, end_date) as d where d.loaded)
        and (coalesce(user_key, 'all') = 'all' or c.user_key = user_key)
),

per_user_model as (
    select c.member, c.model_name, sum(c.credits_consumed) as credits_consumed
    from credits as c
    group by c.member, c.model_name
),

per_user as (
    select
        c.member,
        any_value(c.user_email) as user_email,
        any_value(c.service_account_name) as service_account_name,
        bool_or(c.service_account_name is not null) as is_service_account,
        sum(c.credits_consumed) as credits_consumed,
        count(distinct c.model_name) as models_used,
        count(distinct c.date) as days_used
    from credits as c
    group by c.member
),

top_models as (
    select m.member, arg_max(m.model_name, (m.credits_consumed, m.model_name)) as top_model
    from per_user_model as m
    group by m.member
),

final as (
    select
        p.member as user_key,
        p.user_email,
        p.service_account_name,
        p.is_service_account,
        p.credits_consumed,
        p.credits_consumed / nullif(sum(p.credits_consumed) over (), 0) as share_of_credits,
        p.models_used,
        t.top_model,
        p.days_used
    from per_user as p
    left join top_models as t on t.member = p.member
)

select * from final
order by final.credits_consumed desc, final.user_key;

create or replace macro credits_timeseries(
    grain, start_date, end_date, user_key := 'all', editor := 'all', language := 'all'
) as table
with guard as (
    select
        case
            when coalesce(editor, 'all') <> 'all' or coalesce(language, 'all') <> 'all' then error(
                'credits have no editor or language; call credits_timeseries without those filters'
            )
            else analysis_grain(grain)
        end as grain
),

calendar as (
    select
        date_trunc(g.grain, c.date)::date as period_start,
        c.date,
        c.loaded
    from analysis_calendar(start_date, end_date) as c
    cross join guard as g
),

periods as (
    select * from analysis_periods(grain, start_date, end_date)
),

credits as (
    select
        k.period_start,
        c.model_name,
        sum(c.credits_consumed) as credits_consumed
    from fct_credit_usage as c
    inner join calendar as k on k.date = c.date and k.loaded
    where coalesce(user_key, 'all') = 'all' or c.user_key = user_key
    group by k.period_start, c.model_name
),

models as (
    select distinct c.model_name from credits as c
),

-- Every period with every model used in the range, so a chart's series line up.
final as (
    select
        p.period_start,
        p.period_end,
        p.days_in_range,
        p.days_loaded,
        p.days_in_range - p.days_loaded as days_missing,
        m.model_name,
        -- No day loaded: unknown (NULL). Loaded without credits on the model: zero.
        if(p.days_loaded = 0, null, coalesce(c.credits_consumed, 0)) as credits_consumed
    from periods as p
    cross join models as m
    left join credits as c on c.period_start = p.period_start and c.model_name = m.model_name
)

select * from final
order by final.period_start, final.model_name;

create or replace macro budget_utilisation(
    month, user_key := 'all', editor := 'all', language := 'all'
) as table
with guard as (
    select
        case
            when coalesce(editor, 'all') = 'all' and coalesce(language, 'all') = 'all' then true
            else error(
                'credits have no editor or language; call budget_utilisation without those filters'
            )
        end as ok
),

bounds as (
    select
        date_trunc('month', month::date)::date as month_start,
        last_day(month::date) as month_end
),

-- The budget configuration in force: the latest snapshot taken on or before the month's last day.
snapshot as (
    select max(b.snapshot_date) as snapshot_date
    from fct_budget_overrides as b
    cross join bounds as m
    where b.snapshot_date <= m.month_end
),

overrides as (
    select
        o.user_key as member,
        o.user_email,
        o.resource,
        o.period,
        o.limit_value,
        o.snapshot_date
    from fct_budget_overrides as o
    inner join snapshot as s on o.snapshot_date = s.snapshot_date
    cross join guard as g
    where g.ok and (coalesce(user_key, 'all') = 'all' or o.user_key = user_key)
),

loaded_days as (
    select c.date
    from bounds as m
    cross join analysis_calendar(m.month_start, m.month_end) as c
    where c.loaded
),

coverage as (
    select max(d.date) as as_of_date, count(*) as days_loaded
    from loaded_days as d
),

daily as (
    select c.user_key as member, c.date, sum(c.credits_consumed) as credits
    from fct_credit_usage as c
    where c.date in (select d.date from loaded_days as d)
    group by c.user_key, c.date
),

cumulative as (
    select
        d.member,
        d.date,
        sum(d.credits) over (partition by d.member order by d.date) as running_credits
    from daily as d
),

consumed as (
    select d.member, sum(d.credits) as credits_consumed
    from daily as d
    group by d.member
),

measured as (
    select
        o.*,
        o.resource = 'BUDGET_RESOURCE_CREDITS_CONSUMED' and o.period = 'BUDGET_PERIOD_MONTHLY' as measurable,
        m.month_start,
        m.month_end,
        v.as_of_date,
        v.days_loaded,
        if(v.days_loaded = 0, null, coalesce(c.credits_consumed, 0)) as credits_so_far,
        (
            select min(x.date)
            from cumulative as x
            where x.member = o.member and x.running_credits >= o.limit_value::double
        ) as reached_on
    from overrides as o
    cross join bounds as m
    cross join coverage as v
    left join consumed as c on c.member = o.member
),

final as (
    select
        x.month_start as month,
        x.member as user_key,
        x.user_email,
        x.resource,
        x.period,
        x.limit_value,
        x.snapshot_date,
        x.as_of_date,
        datediff('day', x.month_start, x.month_end) + 1 as days_in_month,
        x.days_loaded,
        if(x.measurable, x.credits_so_far, null) as credits_consumed,
        if(x.measurable, 100 * x.credits_so_far / nullif(x.limit_value::double, 0), null) as percent_used,
        if(x.measurable, x.credits_so_far / nullif(x.days_loaded, 0), null) as daily_burn_rate,
        if(
            x.measurable,
            x.credits_so_far / nullif(x.days_loaded, 0) * (datediff('day', x.month_start, x.month_end) + 1),
            null
        ) as projected_month_end,
        if(x.measurable, x.reached_on, null) as limit_reached_date,
        case
            when not x.measurable then null
            when x.reached_on is not null then x.reached_on
            when x.credits_so_far is null or x.credits_so_far = 0 then null
            when x.as_of_date + cast(ceil(
                (x.limit_value::double - x.credits_so_far) / (x.credits_so_far / x.days_loaded)
            ) as integer) <= x.month_end
                then x.as_of_date + cast(ceil(
                    (x.limit_value::double - x.credits_so_far) / (x.credits_so_far / x.days_loaded)
                ) as integer)
        end as projected_limit_date
    from measured as x
)

select * from final
order by final.percent_used desc nulls last, final.user_key, final.resource;

create or replace view user_adoption as
with loaded_days as (
    select a.date, row_number() over (order by a.date desc) as recency
    from analysis_days as a
    where a.loaded
),

windows as (
    select
        max(d.date) as as_of_date,
        min(d.date) filter (where d.recency <= 7) as last_7_start,
        min(d.date) filter (where d.recency <= 28) as last_28_start
    from loaded_days as d
),

per_user as (
    select
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
    left join loaded_days as d on d.date = u.date
    group by u.user_key
),

final as (
    select
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
    cross join windows as w
)

select * from final
order by final.user_key;
