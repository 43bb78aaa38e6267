-- Two documentation views: analysis_macros (how to call each macro) and analysis_glossary (what every
-- column the macros return means). Created after the macros they describe.

-- How to call each macro; the description is the macro's own COMMENT.
create or replace view analysis_macros as
with catalogue as (
    select *
    from (values
        (
            'usage_summary',
            'usage_summary(start_date, end_date, organization := ''all'', user_key := ''all'', editor := ''all'', language := ''all'')',
            'select * from usage_summary(''2026-10-01'', ''2026-10-31'')'
        ),
        (
            'usage_timeseries',
            'usage_timeseries(grain, start_date, end_date, organization := ''all'', user_key := ''all'', editor := ''all'', language := ''all'')',
            'select period_start, active_users, total_messages from usage_timeseries(''week'', ''2026-09-01'', ''2026-10-31'')'
        ),
        (
            'active_users_trailing',
            'active_users_trailing(start_date, end_date, organization := ''all'', user_key := ''all'', editor := ''all'', language := ''all'')',
            'select date, dau, wau, mau from active_users_trailing(''2026-10-01'', ''2026-10-31'')'
        ),
        (
            'usage_by_user',
            'usage_by_user(start_date, end_date, organization := ''all'', user_key := ''all'', editor := ''all'', language := ''all'')',
            'select user_key, active_days, total_messages, credits_consumed from usage_by_user(''2026-10-01'', ''2026-10-31'') limit 20'
        ),
        (
            'usage_by_editor',
            'usage_by_editor(start_date, end_date, organization := ''all'', user_key := ''all'', editor := ''all'', language := ''all'')',
            'select editor, active_users, completion_acceptance_rate from usage_by_editor(''2026-10-01'', ''2026-10-31'')'
        ),
        (
            'usage_by_language',
            'usage_by_language(start_date, end_date, organization := ''all'', user_key := ''all'', editor := ''all'', language := ''all'')',
            'select language, active_users, total_modified_lines_of_code from usage_by_language(''2026-10-01'', ''2026-10-31'', editor := ''VSCode'')'
        ),
        (
            'usage_by_surface',
            'usage_by_surface(start_date, end_date, organization := ''all'', user_key := ''all'', editor := ''all'', language := ''all'')',
            'select * from usage_by_surface(''2026-10-01'', ''2026-10-31'')'
        ),
        (
            'credits_by_model',
            'credits_by_model(start_date, end_date, organization := ''all'', user_key := ''all'', editor := ''all'', language := ''all'')',
            'select * from credits_by_model(''2026-10-01'', ''2026-10-31'')'
        ),
        (
            'credits_by_user',
            'credits_by_user(start_date, end_date, organization := ''all'', user_key := ''all'', editor := ''all'', language := ''all'')',
            'select user_key, credits_consumed, top_model from credits_by_user(''2026-10-01'', ''2026-10-31'') limit 20'
        ),
        (
            'credits_timeseries',
            'credits_timeseries(grain, start_date, end_date, organization := ''all'', user_key := ''all'', editor := ''all'', language := ''all'')',
            'select period_start, model_name, credits_consumed from credits_timeseries(''week'', ''2026-09-01'', ''2026-10-31'')'
        ),
        (
            'budget_utilisation',
            'budget_utilisation(month, organization := ''all'', user_key := ''all'', editor := ''all'', language := ''all'')',
            'select user_key, limit_value, percent_used, projected_limit_date from budget_utilisation(''2026-11-01'')'
        ),
        (
            'usage_by_organization',
            'usage_by_organization(start_date, end_date, organization := ''all'', user_key := ''all'', editor := ''all'', language := ''all'')',
            'select organization, active_users, total_modified_lines_of_code, credits_consumed from usage_by_organization(''2026-10-01'', ''2026-10-31'')'
        ),
        (
            'analysis_calendar',
            'analysis_calendar(start_date, end_date, organization := ''all'')',
            'select * from analysis_calendar(''2026-10-01'', ''2026-10-31'') where not loaded'
        ),
        (
            'analysis_organizations',
            'analysis_organizations(organization := ''all'')',
            'select * from analysis_organizations()'
        ),
        (
            'analysis_grain',
            'analysis_grain(grain)',
            'select analysis_grain(''Week'')'
        ),
        (
            'analysis_api_today',
            'analysis_api_today()',
            'select analysis_api_today()'
        ),
        (
            'analysis_reach_floor',
            'analysis_reach_floor()',
            'select * from analysis_calendar(''2024-01-01'', ''2026-10-31'') where date >= analysis_reach_floor() and not loaded'
        ),
        (
            'analysis_periods',
            'analysis_periods(grain, start_date, end_date, organization := ''all'')',
            'select * from analysis_periods(''week'', ''2026-10-01'', ''2026-10-31'') where days_loaded < days_in_range'
        ),
        (
            'usage_rows',
            'usage_rows(start_date, end_date, organization := ''all'', user_key := ''all'', editor := ''all'', language := ''all'')',
            'select date, count(*) filter (where is_active) as dau from usage_rows(''2026-10-01'', ''2026-10-31'') group by date order by date'
        ),
        (
            'editor_language_breakdown',
            'editor_language_breakdown(dimension, start_date, end_date, organization := ''all'', user_key := ''all'', editor := ''all'', language := ''all'')',
            'select dimension_value, active_users from editor_language_breakdown(''editor'', ''2026-10-01'', ''2026-10-31'')'
        ),
        (
            'editor_language_rows',
            'editor_language_rows(start_date, end_date, organization := ''all'', user_key := ''all'', editor := ''all'', language := ''all'')',
            'select editor_name, language_name, sum(total_messages) from editor_language_rows(''2026-10-01'', ''2026-10-31'') group by all'
        ),
        (
            'metric_names',
            'metric_names()',
            'select date, columns(metric_names()) from fct_daily_usage order by date desc limit 7'
        ),
        (
            'known_sum',
            'known_sum(x)',
            'select known_sum(completions_suggested_lines_of_code) from fct_user_activity'
        ),
        (
            'analysis_endpoints',
            'analysis_endpoints()',
            'select analysis_endpoints()'
        )
    ) as v(macro_name, signature, example)
),

final as (
    select
        c.macro_name,
        if(f.function_type = 'table_macro', 'table macro', 'scalar macro') as kind,
        c.signature,
        f.comment as description,
        c.example
    from catalogue as c
    left join duckdb_functions() as f
        on f.function_name = c.macro_name
        and f.schema_name = 'main'
        and f.function_type in ('macro', 'table_macro')
)

select * from final;

create or replace view analysis_glossary as
with final as (
    select *
    from (values
        (
            'organization',
            'The organisation (as configured in ANALYTICS_ORGANIZATIONS; ''default'' with one token). As a macro parameter: one organisation''s name, or ''all'' (the default; NULL means ''all'' too). A member is (organization, user_key). Over all organisations, a day is read only when every organisation present in the warehouse has it loaded (analysis_calendar), and per-member rows carry their organisation.'
        ),
        (
            'missing_organizations',
            'analysis_calendar: the organisations (of those the filter covers) for which the day is not loaded; empty when it is loaded.'
        ),
        (
            'start_date',
            'First day of the range (inclusive), as given.'
        ),
        (
            'end_date',
            'Last day of the range (inclusive), as given.'
        ),
        (
            'days_in_range',
            'Days from start_date to end_date inclusive (0 when end_date is before start_date); in usage_timeseries, the days of the period inside the range.'
        ),
        (
            'days_loaded',
            'Days in range that are loaded: A day is loaded when pipeline_partitions holds the four per-user daily endpoints the macros read (dau, user_activity, editor_language, credit_usage), with status ''loaded'' or ''empty'' (for the organisation; over all organisations, for every organisation present in the warehouse). A loaded day without activity counts as loaded (zero activity).'
        ),
        (
            'days_missing',
            'days_in_range - days_loaded - days_beyond_reach: days not loaded that the API still serves, whose activity is unknown (never counted as zero): a backfill can load them.'
        ),
        (
            'days_beyond_reach',
            'Days in range not loaded and older than the API''s 2-year lookback (analysis_reach_floor()): beyond its reach, they can no longer be fetched, so they are not counted as missing; their activity is unknown (never counted as zero).'
        ),
        (
            'beyond_reach',
            'analysis_calendar: the day is not loaded and older than the API''s 2-year lookback (analysis_reach_floor()): it can no longer be fetched, so it is not missing.'
        ),
        (
            'loaded',
            'usage_timeseries: true when every day of the period inside the range is loaded (days_missing = 0). analysis_days and analysis_calendar: the day is loaded.'
        ),
        (
            'period_start',
            'usage_timeseries: first day of the period: the day, the Monday of the ISO week, or the first of the month (the period may begin before start_date).'
        ),
        (
            'period_end',
            'usage_timeseries: last day of the period (may end after end_date).'
        ),
        (
            'active_users',
            'Distinct members (organization, user_key: the same email in two organisations counts twice) active on the loaded days of the range or period (in fct_dau_users; with an editor or language filter, with a row in fct_editor_language_activity). Over a week or month it counts each member once, so it is never a sum of daily counts. In usage_by_surface: distinct members with at least one message on the surface.'
        ),
        (
            'dau',
            'active_users_trailing: distinct members active on the day (active as in active_users); NULL when the day is not loaded.'
        ),
        (
            'wau',
            'active_users_trailing: distinct members active in the 7 days ending on the day (its loaded days); NULL when none of them is loaded.'
        ),
        (
            'mau',
            'active_users_trailing: distinct members active in the 28 days ending on the day (its loaded days); NULL when none of them is loaded.'
        ),
        (
            'week_days_loaded',
            'active_users_trailing: loaded days among the 7 ending on the day (7: wau is complete).'
        ),
        (
            'month_days_loaded',
            'active_users_trailing: loaded days among the 28 ending on the day (28: mau is complete).'
        ),
        (
            'active_people',
            'active_users that are people (user_email set).'
        ),
        (
            'active_service_accounts',
            'active_users that are service accounts.'
        ),
        (
            'active_days',
            'Loaded days in range on which the member was active.'
        ),
        (
            'active_user_days',
            'Distinct (day, member) pairs with activity for the editor or language.'
        ),
        (
            'first_active_date',
            'First loaded day in range on which the member was active (user_adoption: first day in the warehouse).'
        ),
        (
            'last_active_date',
            'Last loaded day in range on which the member was active (user_adoption: last day in the warehouse).'
        ),
        (
            'completion_acceptance_rate',
            'completions_accepted / completions_count over the rows counted; NULL when completions_count is 0.'
        ),
        (
            'line_acceptance_rate',
            'completions_lines_of_code / completions_suggested_lines_of_code, both summed over the rows whose suggested lines are known; NULL when no row has them (the API omitted the field) or their sum is 0.'
        ),
        (
            'messages_per_active_user',
            'total_messages / active_users; NULL when there is no active user.'
        ),
        (
            'lines_per_active_user',
            'total_modified_lines_of_code / active_users; NULL when there is no active user.'
        ),
        (
            'messages_per_active_day',
            'usage_by_user: total_messages / active_days; NULL when active_days is 0.'
        ),
        (
            'lines_per_active_day',
            'usage_by_user: total_modified_lines_of_code / active_days; NULL when active_days is 0.'
        ),
        (
            'credits_consumed',
            'Sum of fct_credit_usage.credits_consumed over the loaded days (after the user_key filter). NULL when an editor or language filter is given (credits have no editor or language) or no day is loaded. budget_utilisation: the member''s credits over the month''s loaded days (NULL for USD-cost overrides).'
        ),
        (
            'share_of_lines',
            'The row''s lines of code / the lines of code of all rows returned; NULL when that total is 0.'
        ),
        (
            'share_of_credits',
            'The row''s credits_consumed / the credits of all rows returned.'
        ),
        (
            'surface',
            'usage_by_surface: completions, chat, remote_agent, ide_agent, cli_interactive or cli_non_interactive.'
        ),
        (
            'messages',
            'usage_by_surface: the surface''s messages metric (completions: completions_count; chat: chat_messages; remote_agent: remote_agent_messages; ide_agent: ide_agent_messages; cli_interactive: cli_agent_interactive_messages; cli_non_interactive: cli_agent_non_interactive_messages).'
        ),
        (
            'lines_of_code',
            'usage_by_surface: the surface''s lines metric (completions: completions_lines_of_code; agents: their *_lines_of_code); NULL for chat, which reports no lines.'
        ),
        (
            'model_name',
            'The model credits were spent on.'
        ),
        (
            'users',
            'credits_by_model: distinct members with credits on the model.'
        ),
        (
            'days_used',
            'Loaded days with credits (for the model, or for the member).'
        ),
        (
            'models_used',
            'credits_by_user: distinct models the member spent credits on.'
        ),
        (
            'top_model',
            'credits_by_user: the model with the most credits for the member (ties: the later name alphabetically).'
        ),
        (
            'month',
            'budget_utilisation: the month''s first day.'
        ),
        (
            'resource',
            'budget_utilisation: BUDGET_RESOURCE_CREDITS_CONSUMED (measured against fct_credit_usage) or BUDGET_RESOURCE_USD_COST (not measured: no cost data in the warehouse).'
        ),
        (
            'limit_value',
            'budget_utilisation: the override''s limit, from the latest snapshot on or before the month''s last day.'
        ),
        (
            'snapshot_date',
            'budget_utilisation: the snapshot of fct_budget_overrides used.'
        ),
        (
            'as_of_date',
            'budget_utilisation: the last loaded day of the month (consumption is known up to it). user_adoption: the most recent loaded day.'
        ),
        (
            'days_in_month',
            'budget_utilisation: calendar days of the month.'
        ),
        (
            'percent_used',
            'budget_utilisation: 100 * credits_consumed / limit_value; NULL when the limit is 0 or the override is not measured.'
        ),
        (
            'daily_burn_rate',
            'budget_utilisation: credits_consumed / days_loaded (credits per loaded day of the month).'
        ),
        (
            'projected_month_end',
            'budget_utilisation: daily_burn_rate * days_in_month: the month''s use if the missing and remaining days burn at the same rate.'
        ),
        (
            'limit_reached_date',
            'budget_utilisation: the first loaded day on which the member''s running total of credits for the month reached limit_value; NULL if not reached.'
        ),
        (
            'projected_limit_date',
            'budget_utilisation: limit_reached_date when reached; otherwise as_of_date + ceil((limit_value - credits_consumed) / daily_burn_rate) days when that is within the month; NULL when not projected to be reached this month (or nothing was consumed).'
        ),
        (
            'status',
            'user_adoption: ''new'' (first active day within the last 7 loaded days), ''active'' (active in the last 7 loaded days), ''idle'' (active in the last 28 loaded days but not the last 7), ''dormant'' (not active in the last 28 loaded days).'
        ),
        (
            'is_active',
            'usage_rows: the member was active that day.'
        ),
        (
            'is_service_account',
            'True for a service account, false for a person.'
        ),
        -- The metrics, defined with their column comments' words (warehouse/sql/metrics.py).
        {{ metric_glossary }}
    ) as v(term, definition)
)

select * from final;
