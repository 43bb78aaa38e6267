-- Usage over a range: the rows every usage macro reads, and the summary, series, trailing actives
-- and per-member totals built on them.

-- One row per loaded day and member (organisation, user_key) with activity, metrics or credits, after
-- the filters. The same email in two organisations is two members: every join is on the organisation too.
create or replace macro usage_rows(
    start_date, end_date, organization := 'all', user_key := 'all', editor := 'all', language := 'all'
) as table
with loaded_days as (
    select c.date
    from analysis_calendar(start_date, end_date, organization := organization) as c
    where c.loaded
),

filters as (
    select
        coalesce(organization, 'all') = 'all' as all_organizations,
        coalesce(user_key, 'all') = 'all' as all_users,
        coalesce(editor, 'all') = 'all' and coalesce(language, 'all') = 'all' as all_editors_languages
),

-- Metrics per member and day: fct_user_activity, unless an editor or language filter is given, in
-- which case fct_editor_language_activity (the one table with those dimensions), summed over them.
by_user as (
    select
        u.organization,
        u.date,
        u.user_key as member,
        u.user_email,
        u.service_account_name,
        columns(metric_names())
    from fct_user_activity as u, filters as f
    where f.all_editors_languages
        and u.date in (select d.date from loaded_days as d)
        and (f.all_organizations or u.organization = organization)
        and (f.all_users or u.user_key = user_key)
),

by_editor_language as (
    select
        e.organization,
        e.date,
        e.user_key as member,
        any_value(e.user_email) as user_email,
        any_value(e.service_account_name) as service_account_name,
        known_sum(columns(metric_names()))
    from fct_editor_language_activity as e, filters as f
    where not f.all_editors_languages
        and e.date in (select d.date from loaded_days as d)
        and (f.all_organizations or e.organization = organization)
        and (f.all_users or e.user_key = user_key)
        and (coalesce(editor, 'all') = 'all' or e.editor = editor)
        and (coalesce(language, 'all') = 'all' or e.language = language)
    group by e.organization, e.date, e.user_key
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
        a.organization,
        a.date,
        a.user_key as member,
        a.user_email,
        a.service_account_name
    from fct_dau_users as a, filters as f
    where f.all_editors_languages
        and a.date in (select d.date from loaded_days as d)
        and (f.all_organizations or a.organization = organization)
        and (f.all_users or a.user_key = user_key)
    union all
    select m.organization, m.date, m.member, m.user_email, m.service_account_name
    from by_editor_language as m
),

-- Credits have no editor or language: none are read when either filter is given.
credits as (
    select
        c.organization,
        c.date,
        c.user_key as member,
        any_value(c.user_email) as user_email,
        any_value(c.service_account_name) as service_account_name,
        sum(c.credits_consumed) as credits_consumed
    from fct_credit_usage as c, filters as f
    where f.all_editors_languages
        and c.date in (select d.date from loaded_days as d)
        and (f.all_organizations or c.organization = organization)
        and (f.all_users or c.user_key = user_key)
    group by c.organization, c.date, c.user_key
),

members as (
    select a.organization, a.date, a.member from active as a
    union
    select m.organization, m.date, m.member from metrics as m
    union
    select c.organization, c.date, c.member from credits as c
),

final as (
    select
        k.organization,
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
    left join active as a on a.organization = k.organization and a.date = k.date and a.member = k.member
    left join metrics as m on m.organization = k.organization and m.date = k.date and m.member = k.member
    left join credits as c on c.organization = k.organization and c.date = k.date and c.member = k.member
)

select * from final
order by final.date, final.organization, final.user_key;

create or replace macro usage_summary(
    start_date, end_date, organization := 'all', user_key := 'all', editor := 'all', language := 'all'
) as table
with calendar as (
    select
        count(*) as days_in_range,
        count(*) filter (where c.loaded) as days_loaded,
        count(*) filter (where c.beyond_reach) as days_beyond_reach
    from analysis_calendar(start_date, end_date, organization := organization) as c
),

totals as (
    select
        -- A member is (organisation, user_key): the same email in two organisations counts twice.
        count(distinct (r.organization, r.user_key)) filter (where r.is_active) as active_users,
        count(distinct (r.organization, r.user_key)) filter (where r.is_active and not r.is_service_account)
            as active_people,
        count(distinct (r.organization, r.user_key)) filter (where r.is_active and r.is_service_account)
            as active_service_accounts,
        known_sum(columns(metric_names())),
        sum(r.completions_lines_of_code) filter (where r.completions_suggested_lines_of_code is not null)
            as _lines_with_known_suggestions,
        sum(r.completions_suggested_lines_of_code) as _known_suggested_lines,
        sum(r.credits_consumed) as _credits
    from usage_rows(
        start_date, end_date, organization := organization, user_key := user_key, editor := editor,
        language := language
    ) as r
),

final as (
    select
        start_date::date as start_date,
        end_date::date as end_date,
        c.days_in_range,
        c.days_loaded,
        c.days_in_range - c.days_loaded - c.days_beyond_reach as days_missing,
        c.days_beyond_reach,
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
    grain, start_date, end_date, organization := 'all', user_key := 'all', editor := 'all',
    language := 'all'
) as table
with guard as (
    select analysis_grain(grain) as grain
),

periods as (
    select * from analysis_periods(grain, start_date, end_date, organization := organization)
),

totals as (
    select
        date_trunc(g.grain, r.date)::date as period_start,
        -- A member is (organisation, user_key): the same email in two organisations counts twice.
        count(distinct (r.organization, r.user_key)) filter (where r.is_active) as active_users,
        count(distinct (r.organization, r.user_key)) filter (where r.is_active and not r.is_service_account)
            as active_people,
        count(distinct (r.organization, r.user_key)) filter (where r.is_active and r.is_service_account)
            as active_service_accounts,
        known_sum(columns(metric_names())),
        sum(r.completions_lines_of_code) filter (where r.completions_suggested_lines_of_code is not null)
            as _lines_with_known_suggestions,
        sum(r.completions_suggested_lines_of_code) as _known_suggested_lines,
        sum(r.credits_consumed) as _credits
    from usage_rows(
        start_date, end_date, organization := organization, user_key := user_key, editor := editor,
        language := language
    ) as r
    cross join guard as g
    group by all
),

final as (
    select
        p.period_start,
        p.period_end,
        p.days_in_range,
        p.days_loaded,
        p.days_in_range - p.days_loaded - p.days_beyond_reach as days_missing,
        p.days_beyond_reach,
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

-- Daily, weekly and monthly actives as trailing windows: for each day, the distinct members
-- (organisation, user_key) active on it, in the 7 days and in the 28 days ending on it (the windows reach
-- back before start_date).
create or replace macro active_users_trailing(
    start_date, end_date, organization := 'all', user_key := 'all', editor := 'all', language := 'all'
) as table
with calendar as (
    select c.date, c.loaded
    from analysis_calendar(start_date::date - 27, end_date, organization := organization) as c
),

days as (
    select c.date, c.loaded
    from calendar as c
    where c.date >= start_date::date
),

active as (
    select distinct r.date, (r.organization, r.user_key) as member
    from usage_rows(
        start_date::date - 27, end_date, organization := organization, user_key := user_key,
        editor := editor, language := language
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
    start_date, end_date, organization := 'all', user_key := 'all', editor := 'all', language := 'all'
) as table
with per_user as (
    select
        r.organization,
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
    from usage_rows(
        start_date, end_date, organization := organization, user_key := user_key, editor := editor,
        language := language
    ) as r
    group by r.organization, r.user_key
),

final as (
    select
        p.organization,
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
order by final.total_messages desc nulls last, final.user_key, final.organization;

-- usage_summary per organisation: one row per organisation the filter covers, over the days the filter's
-- calendar says are loaded (organization := 'all': the days every organisation has loaded), so that
-- the rows' counts and sums add up to usage_summary's for the same arguments.
create or replace macro usage_by_organization(
    start_date, end_date, organization := 'all', user_key := 'all', editor := 'all', language := 'all'
) as table
with calendar as (
    select
        count(*) as days_in_range,
        count(*) filter (where c.loaded) as days_loaded,
        count(*) filter (where c.beyond_reach) as days_beyond_reach
    from analysis_calendar(start_date, end_date, organization := organization) as c
),

scope as (
    select o.organization from analysis_organizations(organization := organization) as o
),

totals as (
    select
        r.organization,
        count(distinct r.user_key) filter (where r.is_active) as active_users,
        count(distinct r.user_key) filter (where r.is_active and not r.is_service_account) as active_people,
        count(distinct r.user_key) filter (where r.is_active and r.is_service_account)
            as active_service_accounts,
        known_sum(columns(metric_names())),
        sum(r.completions_lines_of_code) filter (where r.completions_suggested_lines_of_code is not null)
            as _lines_with_known_suggestions,
        sum(r.completions_suggested_lines_of_code) as _known_suggested_lines,
        sum(r.credits_consumed) as _credits
    from usage_rows(
        start_date, end_date, organization := organization, user_key := user_key, editor := editor,
        language := language
    ) as r
    group by r.organization
),

-- No day loaded: unknown (NULL). Loaded without activity in the organisation: zero.
final as (
    select
        s.organization,
        start_date::date as start_date,
        end_date::date as end_date,
        c.days_in_range,
        c.days_loaded,
        c.days_in_range - c.days_loaded - c.days_beyond_reach as days_missing,
        c.days_beyond_reach,
        if(c.days_loaded = 0, null, coalesce(t.active_users, 0)) as active_users,
        if(c.days_loaded = 0, null, coalesce(t.active_people, 0)) as active_people,
        if(c.days_loaded = 0, null, coalesce(t.active_service_accounts, 0)) as active_service_accounts,
        if(c.days_loaded = 0, null, if(t.organization is null, 0, columns(metric_names())))::bigint,
        t.completions_accepted / nullif(t.completions_count, 0) as completion_acceptance_rate,
        t._lines_with_known_suggestions / nullif(t._known_suggested_lines, 0) as line_acceptance_rate,
        t.total_messages / nullif(t.active_users, 0) as messages_per_active_user,
        t.total_modified_lines_of_code / nullif(t.active_users, 0) as lines_per_active_user,
        if(
            c.days_loaded = 0 or coalesce(editor, 'all') <> 'all' or coalesce(language, 'all') <> 'all',
            null,
            coalesce(t._credits, 0)
        ) as credits_consumed
    from scope as s
    cross join calendar as c
    left join totals as t on t.organization = s.organization
)

select * from final
order by final.organization;
