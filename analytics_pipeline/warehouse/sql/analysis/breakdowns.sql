-- Usage broken down by editor, by language and by surface.

-- Editor and language breakdowns: fct_editor_language_activity, the one table with those dimensions;
-- one row per organisation, day, member, editor and language.
create or replace macro editor_language_rows(
    start_date, end_date, organization := 'all', user_key := 'all', editor := 'all', language := 'all'
) as table
with loaded_days as (
    select c.date
    from analysis_calendar(start_date, end_date, organization := organization) as c
    where c.loaded
),

final as (
    select
        e.organization,
        e.date,
        e.user_key as member,
        e.service_account_name is not null as is_service_account,
        e.editor as editor_name,
        e.language as language_name,
        columns(metric_names())
    from fct_editor_language_activity as e
    where e.date in (select d.date from loaded_days as d)
        and (coalesce(organization, 'all') = 'all' or e.organization = organization)
        and (coalesce(user_key, 'all') = 'all' or e.user_key = user_key)
        and (coalesce(editor, 'all') = 'all' or e.editor = editor)
        and (coalesce(language, 'all') = 'all' or e.language = language)
)

select * from final;

-- One breakdown serves both dimensions: the rows grouped by their editor or by their language.
create or replace macro editor_language_breakdown(
    dimension, start_date, end_date, organization := 'all', user_key := 'all', editor := 'all',
    language := 'all'
) as table
with per_value as (
    select
        case dimension
            when 'editor' then r.editor_name
            when 'language' then r.language_name
            else error('dimension must be ''editor'' or ''language'', got ' || dimension)
        end as dimension_value,
        count(distinct (r.organization, r.member)) as active_users,
        count(distinct (r.date, r.organization, r.member)) as active_user_days,
        known_sum(columns(metric_names())),
        sum(r.completions_lines_of_code) filter (where r.completions_suggested_lines_of_code is not null)
            as _lines_with_known_suggestions,
        sum(r.completions_suggested_lines_of_code) as _known_suggested_lines
    from editor_language_rows(
        start_date, end_date, organization := organization, user_key := user_key, editor := editor,
        language := language
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
    start_date, end_date, organization := 'all', user_key := 'all', editor := 'all', language := 'all'
) as table
select b.dimension_value as editor, b.* exclude (dimension_value)
from editor_language_breakdown(
    'editor', start_date, end_date, organization := organization, user_key := user_key, editor := editor,
    language := language
) as b
order by b.total_modified_lines_of_code desc nulls last, b.dimension_value;

create or replace macro usage_by_language(
    start_date, end_date, organization := 'all', user_key := 'all', editor := 'all', language := 'all'
) as table
select b.dimension_value as language, b.* exclude (dimension_value)
from editor_language_breakdown(
    'language', start_date, end_date, organization := organization, user_key := user_key, editor := editor,
    language := language
) as b
order by b.total_modified_lines_of_code desc nulls last, b.dimension_value;

create or replace macro usage_by_surface(
    start_date, end_date, organization := 'all', user_key := 'all', editor := 'all', language := 'all'
) as table
with surfaces as (
    select
        (r.organization, r.user_key) as member,
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
    from usage_rows(
        start_date, end_date, organization := organization, user_key := user_key, editor := editor,
        language := language
    ) as r
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
    from analysis_calendar(start_date, end_date, organization := organization) as c
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
