-- Documentation inside the warehouse: COMMENT ON every table, view, column and macro, so that
-- duckdb_tables(), duckdb_views(), duckdb_columns() and duckdb_functions() explain them, and two
-- documentation views: analysis_macros (how to call each macro) and analysis_glossary (what every
-- column the macros return means). Runs after schema.sql and analysis.sql (replacing a view or macro
-- drops its comment, so install_analysis() always runs both files, in one transaction).

-- How to call each macro; the description is the macro's own COMMENT.
create or replace view analysis_macros as
with catalogue as (
    select *
    from (values
        (
            'usage_summary',
            'usage_summary(start_date, end_date, user_key := ''all'', editor := ''all'', language := ''all'')',
            'select * from usage_summary(''2026-10-01'', ''2026-10-31'')'
        ),
        (
            'usage_timeseries',
            'usage_timeseries(grain, start_date, end_date, user_key := ''all'', editor := ''all'', language := ''all'')',
            'select period_start, active_users, total_messages from usage_timeseries(''week'', ''2026-09-01'', ''2026-10-31'')'
        ),
        (
            'active_users_trailing',
            'active_users_trailing(start_date, end_date, user_key := ''all'', editor := ''all'', language := ''all'')',
            'select date, dau, wau, mau from active_users_trailing(''2026-10-01'', ''2026-10-31'')'
        ),
        (
            'usage_by_user',
            'usage_by_user(start_date, end_date, user_key := ''all'', editor := ''all'', language := ''all'')',
            'select user_key, active_days, total_messages, credits_consumed from usage_by_user(''2026-10-01'', ''2026-10-31'') limit 20'
        ),
        (
            'usage_by_editor',
            'usage_by_editor(start_date, end_date, user_key := ''all'', editor := ''all'', language := ''all'')',
            'select editor, active_users, completion_acceptance_rate from usage_by_editor(''2026-10-01'', ''2026-10-31'')'
        ),
        (
            'usage_by_language',
            'usage_by_language(start_date, end_date, user_key := ''all'', editor := ''all'', language := ''all'')',
            'select language, active_users, total_modified_lines_of_code from usage_by_language(''2026-10-01'', ''2026-10-31'', editor := ''VSCode'')'
        ),
        (
            'usage_by_surface',
            'usage_by_surface(start_date, end_date, user_key := ''all'', editor := ''all'', language := ''all'')',
            'select * from usage_by_surface(''2026-10-01'', ''2026-10-31'')'
        ),
        (
            'credits_by_model',
            'credits_by_model(start_date, end_date, user_key := ''all'', editor := ''all'', language := ''all'')',
            'select * from credits_by_model(''2026-10-01'', ''2026-10-31'')'
        ),
        (
            'credits_by_user',
            'credits_by_user(start_date, end_date, user_key := ''all'', editor := ''all'', language := ''all'')',
            'select user_key, credits_consumed, top_model from credits_by_user(''2026-10-01'', ''2026-10-31'') limit 20'
        ),
        (
            'credits_timeseries',
            'credits_timeseries(grain, start_date, end_date, user_key := ''all'', editor := ''all'', language := ''all'')',
            'select period_start, model_name, credits_consumed from credits_timeseries(''week'', ''2026-09-01'', ''2026-10-31'')'
        ),
        (
            'budget_utilisation',
            'budget_utilisation(month, user_key := ''all'', editor := ''all'', language := ''all'')',
            'select user_key, limit_value, percent_used, projected_limit_date from budget_utilisation(''2026-11-01'')'
        ),
        (
            'analysis_calendar',
            'analysis_calendar(start_date, end_date)',
            'select * from analysis_calendar(''2026-10-01'', ''2026-10-31'') where not loaded'
        ),
        (
            'analysis_grain',
            'analysis_grain(grain)',
            'select analysis_grain(''Week'')'
        ),
        (
            'analysis_periods',
            'analysis_periods(grain, start_date, end_date)',
            'select * from analysis_periods(''week'', ''2026-10-01'', ''2026-10-31'') where days_loaded < days_in_range'
        ),
        (
            'usage_rows',
            'usage_rows(start_date, end_date, user_key := ''all'', editor := ''all'', language := ''all'')',
            'select date, count(*) filter (where is_active) as dau from usage_rows(''2026-10-01'', ''2026-10-31'') group by date order by date'
        ),
        (
            'editor_language_breakdown',
            'editor_language_breakdown(dimension, start_date, end_date, user_key := ''all'', editor := ''all'', language := ''all'')',
            'select dimension_value, active_users from editor_language_breakdown(''editor'', ''2026-10-01'', ''2026-10-31'')'
        ),
        (
            'editor_language_rows',
            'editor_language_rows(start_date, end_date, user_key := ''all'', editor := ''all'', language := ''all'')',
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
            'Days in range that are loaded: A day is loaded when pipeline_partitions holds the four per-user daily endpoints the macros read (dau, user_activity, editor_language, credit_usage), with status ''loaded'' or ''empty''. A loaded day without activity counts as loaded (zero activity).'
        ),
        (
            'days_missing',
            'days_in_range - days_loaded: days not loaded, whose activity is unknown (never counted as zero).'
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
            'Distinct user_key active on the loaded days of the range or period (in fct_dau_users; with an editor or language filter, with a row in fct_editor_language_activity). Over a week or month it counts each member once, so it is never a sum of daily counts. In usage_by_surface: distinct members with at least one message on the surface.'
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
        (
            'total_modified_lines_of_code',
            'Total lines of code modified across all interactions (completions and agents). Summed over the rows counted; NULL when any of them lacks the field (the API omitted it); 0 when nothing was done on loaded days.'
        ),
        (
            'total_messages',
            'Total messages across all interaction types (chat and every agent surface). Summed over the rows counted; NULL when any of them lacks the field (the API omitted it); 0 when nothing was done on loaded days.'
        ),
        (
            'total_tool_calls',
            'Total tool calls across all agent types. Summed over the rows counted; NULL when any of them lacks the field (the API omitted it); 0 when nothing was done on loaded days.'
        ),
        (
            'completions_count',
            'Number of completions served (completion requests). Summed over the rows counted; NULL when any of them lacks the field (the API omitted it); 0 when nothing was done on loaded days.'
        ),
        (
            'completions_accepted',
            'Number of completions accepted by users. Summed over the rows counted; NULL when any of them lacks the field (the API omitted it); 0 when nothing was done on loaded days.'
        ),
        (
            'completions_lines_of_code',
            'Lines of code from accepted completions. Summed over the rows counted; NULL when any of them lacks the field (the API omitted it); 0 when nothing was done on loaded days.'
        ),
        (
            'completions_suggested_lines_of_code',
            'Lines of code suggested by completions, before acceptance (the API reference lists it but its examples omit it: may be NULL, never read as zero). Summed over the rows counted; NULL when any of them lacks the field (the API omitted it); 0 when nothing was done on loaded days.'
        ),
        (
            'chat_messages',
            'Number of chat messages. Summed over the rows counted; NULL when any of them lacks the field (the API omitted it); 0 when nothing was done on loaded days.'
        ),
        (
            'remote_agent_messages',
            'Number of Remote Agent messages. Summed over the rows counted; NULL when any of them lacks the field (the API omitted it); 0 when nothing was done on loaded days.'
        ),
        (
            'remote_agent_lines_of_code',
            'Lines of code from the Remote Agent. Summed over the rows counted; NULL when any of them lacks the field (the API omitted it); 0 when nothing was done on loaded days.'
        ),
        (
            'ide_agent_messages',
            'Number of IDE Agent messages. Summed over the rows counted; NULL when any of them lacks the field (the API omitted it); 0 when nothing was done on loaded days.'
        ),
        (
            'ide_agent_lines_of_code',
            'Lines of code from the IDE Agent. Summed over the rows counted; NULL when any of them lacks the field (the API omitted it); 0 when nothing was done on loaded days.'
        ),
        (
            'cli_agent_interactive_messages',
            'Number of CLI Agent messages in interactive mode. Summed over the rows counted; NULL when any of them lacks the field (the API omitted it); 0 when nothing was done on loaded days.'
        ),
        (
            'cli_agent_interactive_lines_of_code',
            'Lines of code from the CLI Agent in interactive mode. Summed over the rows counted; NULL when any of them lacks the field (the API omitted it); 0 when nothing was done on loaded days.'
        ),
        (
            'cli_agent_non_interactive_messages',
            'Number of CLI Agent messages in non-interactive mode (scripts, CI). Summed over the rows counted; NULL when any of them lacks the field (the API omitted it); 0 when nothing was done on loaded days.'
        ),
        (
            'cli_agent_non_interactive_lines_of_code',
            'Lines of code from the CLI Agent in non-interactive mode. Summed over the rows counted; NULL when any of them lacks the field (the API omitted it); 0 when nothing was done on loaded days.'
        )
    ) as v(term, definition)
)

select * from final;

-- fct_dau_count
comment on table fct_dau_count is 'Daily active users as counted by the API (dau-count). One row per loaded day, days without activity included as 0. Grain: date.';
comment on column fct_dau_count.date is 'The UTC day.';
comment on column fct_dau_count.user_count is 'Members (people and service accounts) active that day, as the API counts them; should equal the distinct user_key of fct_dau_users that day (checked by the matches_dau_count asset check).';

-- fct_dau_users
comment on table fct_dau_users is 'The members active on each day (dau): the source of active-user counts in the analysis macros (distinct user_key, so weekly and monthly actives are never sums of daily ones). Grain: date, user_key.';
comment on column fct_dau_users.date is 'The UTC day.';
comment on column fct_dau_users.user_key is 'The member: user_email for a person, ''service_account:'' || service_account_name for a service account.';
comment on column fct_dau_users.user_email is 'The person''s email, or its keyed pseudonym (user-<hash>@pseudonymized.invalid) when ANALYTICS_PSEUDONYMIZE=1; NULL for a service account.';
comment on column fct_dau_users.service_account_name is 'The service account''s name; NULL for a person.';

-- fct_daily_usage
comment on table fct_daily_usage is 'Organisation-wide usage metrics per day (daily-usage). Grain: date. A day without activity has no row: pipeline_partitions tells a loaded empty day from a day not loaded.';
comment on column fct_daily_usage.date is 'The UTC day.';
comment on column fct_daily_usage.total_modified_lines_of_code is 'Total lines of code modified across all interactions (completions and agents). NULL where the API omitted the field.';
comment on column fct_daily_usage.total_messages is 'Total messages across all interaction types (chat and every agent surface). NULL where the API omitted the field.';
comment on column fct_daily_usage.total_tool_calls is 'Total tool calls across all agent types. NULL where the API omitted the field.';
comment on column fct_daily_usage.completions_count is 'Number of completions served (completion requests). NULL where the API omitted the field.';
comment on column fct_daily_usage.completions_accepted is 'Number of completions accepted by users. NULL where the API omitted the field.';
comment on column fct_daily_usage.completions_lines_of_code is 'Lines of code from accepted completions. NULL where the API omitted the field.';
comment on column fct_daily_usage.completions_suggested_lines_of_code is 'Lines of code suggested by completions, before acceptance (the API reference lists it but its examples omit it: may be NULL, never read as zero). NULL where the API omitted the field.';
comment on column fct_daily_usage.chat_messages is 'Number of chat messages. NULL where the API omitted the field.';
comment on column fct_daily_usage.remote_agent_messages is 'Number of Remote Agent messages. NULL where the API omitted the field.';
comment on column fct_daily_usage.remote_agent_lines_of_code is 'Lines of code from the Remote Agent. NULL where the API omitted the field.';
comment on column fct_daily_usage.ide_agent_messages is 'Number of IDE Agent messages. NULL where the API omitted the field.';
comment on column fct_daily_usage.ide_agent_lines_of_code is 'Lines of code from the IDE Agent. NULL where the API omitted the field.';
comment on column fct_daily_usage.cli_agent_interactive_messages is 'Number of CLI Agent messages in interactive mode. NULL where the API omitted the field.';
comment on column fct_daily_usage.cli_agent_interactive_lines_of_code is 'Lines of code from the CLI Agent in interactive mode. NULL where the API omitted the field.';
comment on column fct_daily_usage.cli_agent_non_interactive_messages is 'Number of CLI Agent messages in non-interactive mode (scripts, CI). NULL where the API omitted the field.';
comment on column fct_daily_usage.cli_agent_non_interactive_lines_of_code is 'Lines of code from the CLI Agent in non-interactive mode. NULL where the API omitted the field.';

-- fct_user_activity
comment on table fct_user_activity is 'Per-member usage metrics per day (user-activity queried one day at a time). Grain: date, user_key. The analysis macros'' metrics come from here unless an editor or language filter is given.';
comment on column fct_user_activity.date is 'The UTC day.';
comment on column fct_user_activity.user_key is 'The member: user_email for a person, ''service_account:'' || service_account_name for a service account.';
comment on column fct_user_activity.user_email is 'The person''s email, or its keyed pseudonym (user-<hash>@pseudonymized.invalid) when ANALYTICS_PSEUDONYMIZE=1; NULL for a service account.';
comment on column fct_user_activity.service_account_name is 'The service account''s name; NULL for a person.';
comment on column fct_user_activity.total_modified_lines_of_code is 'Total lines of code modified across all interactions (completions and agents). NULL where the API omitted the field.';
comment on column fct_user_activity.total_messages is 'Total messages across all interaction types (chat and every agent surface). NULL where the API omitted the field.';
comment on column fct_user_activity.total_tool_calls is 'Total tool calls across all agent types. NULL where the API omitted the field.';
comment on column fct_user_activity.completions_count is 'Number of completions served (completion requests). NULL where the API omitted the field.';
comment on column fct_user_activity.completions_accepted is 'Number of completions accepted by users. NULL where the API omitted the field.';
comment on column fct_user_activity.completions_lines_of_code is 'Lines of code from accepted completions. NULL where the API omitted the field.';
comment on column fct_user_activity.completions_suggested_lines_of_code is 'Lines of code suggested by completions, before acceptance (the API reference lists it but its examples omit it: may be NULL, never read as zero). NULL where the API omitted the field.';
comment on column fct_user_activity.chat_messages is 'Number of chat messages. NULL where the API omitted the field.';
comment on column fct_user_activity.remote_agent_messages is 'Number of Remote Agent messages. NULL where the API omitted the field.';
comment on column fct_user_activity.remote_agent_lines_of_code is 'Lines of code from the Remote Agent. NULL where the API omitted the field.';
comment on column fct_user_activity.ide_agent_messages is 'Number of IDE Agent messages. NULL where the API omitted the field.';
comment on column fct_user_activity.ide_agent_lines_of_code is 'Lines of code from the IDE Agent. NULL where the API omitted the field.';
comment on column fct_user_activity.cli_agent_interactive_messages is 'Number of CLI Agent messages in interactive mode. NULL where the API omitted the field.';
comment on column fct_user_activity.cli_agent_interactive_lines_of_code is 'Lines of code from the CLI Agent in interactive mode. NULL where the API omitted the field.';
comment on column fct_user_activity.cli_agent_non_interactive_messages is 'Number of CLI Agent messages in non-interactive mode (scripts, CI). NULL where the API omitted the field.';
comment on column fct_user_activity.cli_agent_non_interactive_lines_of_code is 'Lines of code from the CLI Agent in non-interactive mode. NULL where the API omitted the field.';

-- fct_user_activity_monthly
comment on table fct_user_activity_monthly is 'Per-member metrics and active days summed over a calendar month exactly as the API sums it (user-activity queried one month at a time; the coarse backfill pass). Grain: month, user_key.';
comment on column fct_user_activity_monthly.month is 'First day of the calendar month (UTC).';
comment on column fct_user_activity_monthly.user_key is 'The member: user_email for a person, ''service_account:'' || service_account_name for a service account.';
comment on column fct_user_activity_monthly.user_email is 'The person''s email, or its keyed pseudonym (user-<hash>@pseudonymized.invalid) when ANALYTICS_PSEUDONYMIZE=1; NULL for a service account.';
comment on column fct_user_activity_monthly.service_account_name is 'The service account''s name; NULL for a person.';
comment on column fct_user_activity_monthly.active_days is 'Days of the month on which the member was active, as the API counts them.';
comment on column fct_user_activity_monthly.total_modified_lines_of_code is 'Total lines of code modified across all interactions (completions and agents). Summed over the month. NULL where the API omitted the field.';
comment on column fct_user_activity_monthly.total_messages is 'Total messages across all interaction types (chat and every agent surface). Summed over the month. NULL where the API omitted the field.';
comment on column fct_user_activity_monthly.total_tool_calls is 'Total tool calls across all agent types. Summed over the month. NULL where the API omitted the field.';
comment on column fct_user_activity_monthly.completions_count is 'Number of completions served (completion requests). Summed over the month. NULL where the API omitted the field.';
comment on column fct_user_activity_monthly.completions_accepted is 'Number of completions accepted by users. Summed over the month. NULL where the API omitted the field.';
comment on column fct_user_activity_monthly.completions_lines_of_code is 'Lines of code from accepted completions. Summed over the month. NULL where the API omitted the field.';
comment on column fct_user_activity_monthly.completions_suggested_lines_of_code is 'Lines of code suggested by completions, before acceptance (the API reference lists it but its examples omit it: may be NULL, never read as zero). Summed over the month. NULL where the API omitted the field.';
comment on column fct_user_activity_monthly.chat_messages is 'Number of chat messages. Summed over the month. NULL where the API omitted the field.';
comment on column fct_user_activity_monthly.remote_agent_messages is 'Number of Remote Agent messages. Summed over the month. NULL where the API omitted the field.';
comment on column fct_user_activity_monthly.remote_agent_lines_of_code is 'Lines of code from the Remote Agent. Summed over the month. NULL where the API omitted the field.';
comment on column fct_user_activity_monthly.ide_agent_messages is 'Number of IDE Agent messages. Summed over the month. NULL where the API omitted the field.';
comment on column fct_user_activity_monthly.ide_agent_lines_of_code is 'Lines of code from the IDE Agent. Summed over the month. NULL where the API omitted the field.';
comment on column fct_user_activity_monthly.cli_agent_interactive_messages is 'Number of CLI Agent messages in interactive mode. Summed over the month. NULL where the API omitted the field.';
comment on column fct_user_activity_monthly.cli_agent_interactive_lines_of_code is 'Lines of code from the CLI Agent in interactive mode. Summed over the month. NULL where the API omitted the field.';
comment on column fct_user_activity_monthly.cli_agent_non_interactive_messages is 'Number of CLI Agent messages in non-interactive mode (scripts, CI). Summed over the month. NULL where the API omitted the field.';
comment on column fct_user_activity_monthly.cli_agent_non_interactive_lines_of_code is 'Lines of code from the CLI Agent in non-interactive mode. Summed over the month. NULL where the API omitted the field.';

-- fct_editor_language_activity
comment on table fct_editor_language_activity is 'Per-member usage metrics per day by editor and programming language (daily-user-activity-by-editor-language). Grain: date, user_key, language, editor. The only table with editor and language: the analysis macros read it when an editor or language filter is given.';
comment on column fct_editor_language_activity.date is 'The UTC day.';
comment on column fct_editor_language_activity.user_key is 'The member: user_email for a person, ''service_account:'' || service_account_name for a service account.';
comment on column fct_editor_language_activity.user_email is 'The person''s email, or its keyed pseudonym (user-<hash>@pseudonymized.invalid) when ANALYTICS_PSEUDONYMIZE=1; NULL for a service account.';
comment on column fct_editor_language_activity.service_account_name is 'The service account''s name; NULL for a person.';
comment on column fct_editor_language_activity.language is 'Programming language as the API names it (e.g. Python, TypeScript, Unknown).';
comment on column fct_editor_language_activity.editor is 'Editor or client as the API names it (e.g. VSCode, JetBrains, Vim, CLI, Unknown).';
comment on column fct_editor_language_activity.total_modified_lines_of_code is 'Total lines of code modified across all interactions (completions and agents). NULL where the API omitted the field.';
comment on column fct_editor_language_activity.total_messages is 'Total messages across all interaction types (chat and every agent surface). NULL where the API omitted the field.';
comment on column fct_editor_language_activity.total_tool_calls is 'Total tool calls across all agent types. NULL where the API omitted the field.';
comment on column fct_editor_language_activity.completions_count is 'Number of completions served (completion requests). NULL where the API omitted the field.';
comment on column fct_editor_language_activity.completions_accepted is 'Number of completions accepted by users. NULL where the API omitted the field.';
comment on column fct_editor_language_activity.completions_lines_of_code is 'Lines of code from accepted completions. NULL where the API omitted the field.';
comment on column fct_editor_language_activity.completions_suggested_lines_of_code is 'Lines of code suggested by completions, before acceptance (the API reference lists it but its examples omit it: may be NULL, never read as zero). NULL where the API omitted the field.';
comment on column fct_editor_language_activity.chat_messages is 'Number of chat messages. NULL where the API omitted the field.';
comment on column fct_editor_language_activity.remote_agent_messages is 'Number of Remote Agent messages. NULL where the API omitted the field.';
comment on column fct_editor_language_activity.remote_agent_lines_of_code is 'Lines of code from the Remote Agent. NULL where the API omitted the field.';
comment on column fct_editor_language_activity.ide_agent_messages is 'Number of IDE Agent messages. NULL where the API omitted the field.';
comment on column fct_editor_language_activity.ide_agent_lines_of_code is 'Lines of code from the IDE Agent. NULL where the API omitted the field.';
comment on column fct_editor_language_activity.cli_agent_interactive_messages is 'Number of CLI Agent messages in interactive mode. NULL where the API omitted the field.';
comment on column fct_editor_language_activity.cli_agent_interactive_lines_of_code is 'Lines of code from the CLI Agent in interactive mode. NULL where the API omitted the field.';
comment on column fct_editor_language_activity.cli_agent_non_interactive_messages is 'Number of CLI Agent messages in non-interactive mode (scripts, CI). NULL where the API omitted the field.';
comment on column fct_editor_language_activity.cli_agent_non_interactive_lines_of_code is 'Lines of code from the CLI Agent in non-interactive mode. NULL where the API omitted the field.';

-- fct_credit_usage
comment on table fct_credit_usage is 'Credits consumed per member, day and model (credit-usage-by-user with by_date and by_model). Grain: date, user_key, model_name. Only positive totals are listed. Credits have no editor or language.';
comment on column fct_credit_usage.date is 'The UTC day.';
comment on column fct_credit_usage.user_key is 'The member: user_email for a person, ''service_account:'' || service_account_name for a service account.';
comment on column fct_credit_usage.user_email is 'The person''s email, or its keyed pseudonym (user-<hash>@pseudonymized.invalid) when ANALYTICS_PSEUDONYMIZE=1; NULL for a service account.';
comment on column fct_credit_usage.service_account_name is 'The service account''s name; NULL for a person.';
comment on column fct_credit_usage.model_name is 'The model the credits were spent on.';
comment on column fct_credit_usage.credits_consumed is 'Credits consumed by the member on that model that day.';

-- fct_budget_overrides
comment on table fct_budget_overrides is 'Explicit per-user budget overrides, one snapshot per partition day (get-user-budget-overrides is real-time configuration: each run writes what it read as the snapshot of each of its days). Grain: snapshot_date, user_key, resource, period. The organisation default is not included.';
comment on column fct_budget_overrides.snapshot_date is 'The partition day this snapshot was written for.';
comment on column fct_budget_overrides.user_key is 'The member: user_email for a person, ''service_account:'' || service_account_name for a service account. Overrides are for people only.';
comment on column fct_budget_overrides.user_email is 'The person''s email, or its keyed pseudonym (user-<hash>@pseudonymized.invalid) when ANALYTICS_PSEUDONYMIZE=1; NULL for a service account.';
comment on column fct_budget_overrides.service_account_name is 'The service account''s name; NULL for a person. Always NULL here.';
comment on column fct_budget_overrides.resource is 'What the limit applies to: BUDGET_RESOURCE_CREDITS_CONSUMED (compared with fct_credit_usage.credits_consumed) or BUDGET_RESOURCE_USD_COST (no cost data in the warehouse).';
comment on column fct_budget_overrides.period is 'The budget period, e.g. BUDGET_PERIOD_MONTHLY (a calendar month, UTC).';
comment on column fct_budget_overrides.limit_value is 'The limit, in credits or USD according to resource (the API sends a decimal string).';
comment on column fct_budget_overrides.fetched_at is 'When the pipeline read the overrides from the API (a snapshot under 24 hours old may be reused for older days).';

-- analysis_installed
comment on table analysis_installed is 'The version of the analysis layer (macros, views, comments) installed in this warehouse, and when: install_analysis() re-creates the layer when its SQL changes.';
comment on column analysis_installed.digest is 'SHA-256 of schema.sql, analysis.sql and comments.sql as installed.';
comment on column analysis_installed.installed_at is 'When the layer was installed.';

-- dim_users
comment on table dim_users is 'Every member seen in any fact table, rebuilt in full after each load. Grain: user_key.';
comment on column dim_users.user_key is 'The member: user_email for a person, ''service_account:'' || service_account_name for a service account.';
comment on column dim_users.user_email is 'The person''s email, or its keyed pseudonym (user-<hash>@pseudonymized.invalid) when ANALYTICS_PSEUDONYMIZE=1; NULL for a service account.';
comment on column dim_users.service_account_name is 'The service account''s name; NULL for a person.';
comment on column dim_users.is_service_account is 'True for a service account, false for a person.';
comment on column dim_users.first_active_date is 'First day with a row in a daily fact table (dau, user activity, editor-language, credits); NULL when seen only in a monthly or budget table.';
comment on column dim_users.last_active_date is 'Last such day; NULL as for first_active_date.';

-- pipeline_partitions
comment on table pipeline_partitions is 'What the pipeline loaded: one row per endpoint and partition day. A row means the day was fetched and loaded, with data (status ''loaded'') or without (status ''empty''): ''no data'' and ''not loaded'' are never confused. Grain: endpoint, date.';
comment on column pipeline_partitions.endpoint is 'The endpoint''s short name: dau_count, dau, daily_usage, user_activity, editor_language, credit_usage, budget_overrides or user_activity_monthly.';
comment on column pipeline_partitions.date is 'The partition: a UTC day; for user_activity_monthly the first day of the month.';
comment on column pipeline_partitions.rows is 'API records landed for the partition.';
comment on column pipeline_partitions.requests is 'API requests attributed to the partition: a window''s requests count on its newest day only, so sum(requests) is the number of requests sent.';
comment on column pipeline_partitions.pages is 'Pages fetched for the partition.';
comment on column pipeline_partitions.status is '''loaded'' (the API returned records) or ''empty'' (the API returned none: no activity).';
comment on column pipeline_partitions.fetched_at is 'When the data was fetched from the API.';
comment on column pipeline_partitions.loaded_at is 'When the partition was loaded into the warehouse.';
comment on column pipeline_partitions.window_start is 'First day of the request window that served this partition (range endpoints).';
comment on column pipeline_partitions.window_end is 'Last day of that window.';
comment on column pipeline_partitions.unknown_fields is 'Fields the API sent that the pipeline does not know yet (kept in the raw Parquet''s raw_json).';
comment on column pipeline_partitions.checked_at is 'When the data was last confirmed: fetched, or re-checked by a nightly run and found unchanged.';
comment on column pipeline_partitions.provisional is 'True while the day''s numbers may still change (late data): the day was last checked fewer than ANALYTICS_RECHECK_DAYS days after it was published; the nightly run re-checks it and re-loads it if it changed. False: final. NULL: loaded before the pipeline tracked it.';
comment on column pipeline_partitions.content_digest is 'An order-independent digest of the landed records: a re-check that fetches the same records gets the same digest.';

-- pipeline_rechecks
comment on table pipeline_rechecks is 'Every re-check of a provisional day by a nightly run: whether its numbers had changed since they were loaded (late or restated data) and were re-loaded. Grain: checked_at, date.';
comment on column pipeline_rechecks.checked_at is 'When the re-check fetched the day again.';
comment on column pipeline_rechecks.date is 'The UTC day re-checked.';
comment on column pipeline_rechecks.outcome is '''unchanged'' (same records as loaded), ''changed'' (different records: the day was fetched again and re-loaded) or ''missing'' (some endpoint of the day was not loaded yet: it was fetched and loaded).';
comment on column pipeline_rechecks.changed_endpoints is 'The range endpoints whose records differed from what was loaded.';
comment on column pipeline_rechecks.missing_endpoints is 'The endpoints of the day that were not loaded before the re-check.';

-- analysis_days
comment on view analysis_days is 'Which days the analysis macros can read. A day is loaded when pipeline_partitions holds the four per-user daily endpoints the macros read (dau, user_activity, editor_language, credit_usage), with status ''loaded'' or ''empty''. Days not listed, or listed with loaded = false, are missing: the macros report them as missing, never as zero activity. Grain: date.';
comment on column analysis_days.date is 'The UTC day.';
comment on column analysis_days.loaded is 'True when all four endpoints are loaded for the day.';
comment on column analysis_days.missing_endpoints is 'The endpoints not loaded yet for the day (empty when loaded).';
comment on column analysis_days.provisional is 'True when any of the day''s partitions is provisional: its numbers may still change (see pipeline_partitions.provisional).';
comment on column analysis_days.no_activity is 'True when the day is loaded and every endpoint was empty: the API reported no activity at all (zero, not missing).';

-- user_adoption
comment on view user_adoption is 'Per member: first and last active day, activity over the last 7 and 28 loaded days, and an adoption status. Windows count loaded days (analysis_days), newest first, so a missing day never counts as inactivity. status: ''new'' = first active day within the last 7 loaded days; ''active'' = active on at least one of the last 7 loaded days (and not new); ''idle'' = not active in the last 7 loaded days but active in the last 28; ''dormant'' = not active in the last 28 loaded days. Active = in fct_dau_users. Grain: user_key.';
comment on column user_adoption.user_key is 'The member: user_email for a person, ''service_account:'' || service_account_name for a service account.';
comment on column user_adoption.user_email is 'The person''s email, or its keyed pseudonym (user-<hash>@pseudonymized.invalid) when ANALYTICS_PSEUDONYMIZE=1; NULL for a service account.';
comment on column user_adoption.service_account_name is 'The service account''s name; NULL for a person.';
comment on column user_adoption.is_service_account is 'True for a service account.';
comment on column user_adoption.first_active_date is 'First day the member is in fct_dau_users (first in the warehouse: history before the first loaded day is unknown).';
comment on column user_adoption.last_active_date is 'Last day the member is in fct_dau_users.';
comment on column user_adoption.active_days is 'Days the member is in fct_dau_users.';
comment on column user_adoption.active_days_last_7 is 'Active days among the 7 most recent loaded days.';
comment on column user_adoption.active_days_last_28 is 'Active days among the 28 most recent loaded days.';
comment on column user_adoption.as_of_date is 'The most recent loaded day: the end of both windows.';
comment on column user_adoption.days_since_last_active is 'as_of_date - last_active_date, in days.';
comment on column user_adoption.status is '''new'', ''active'', ''idle'' or ''dormant'' (thresholds in the view''s comment).';

-- analysis_macros
comment on view analysis_macros is 'The analysis table macros and helpers: name, how to call them, what they return and an example. Start here: select macro_name, signature from analysis_macros.';
comment on column analysis_macros.macro_name is 'The macro''s name.';
comment on column analysis_macros.kind is '''table macro'' (use in FROM) or ''scalar macro''.';
comment on column analysis_macros.signature is 'Parameters; name := value ones are optional, with their default.';
comment on column analysis_macros.description is 'What the macro returns (its COMMENT).';
comment on column analysis_macros.example is 'A query to try.';

-- analysis_glossary
comment on view analysis_glossary is 'Definitions of every column the analysis macros return (rates, coverage, activity, credits, budgets, and the API''s metrics): select * from analysis_glossary where term like ''%rate%''.';
comment on column analysis_glossary.term is 'A column name returned by one or more analysis macros.';
comment on column analysis_glossary.definition is 'Its exact definition.';

-- macros
comment on macro table usage_summary is 'usage_summary(start_date, end_date, user_key := ''all'', editor := ''all'', language := ''all''): One row for the period: days_in_range, days_loaded, days_missing; distinct active_users, active_people, active_service_accounts; every metric summed; completion_acceptance_rate, line_acceptance_rate, messages_per_active_user, lines_per_active_user; credits_consumed. Numbers cover the loaded days only and are NULL when no day is loaded. Optional filters user_key, editor, language (default ''all''). Only loaded days are read (see analysis_days). With an editor or language filter, metrics and active users come from fct_editor_language_activity and credits_consumed is NULL (credits have no editor or language); otherwise metrics come from fct_user_activity, active users from fct_dau_users and credits from fct_credit_usage. Example: select * from usage_summary(''2026-10-01'', ''2026-10-31'')';
comment on macro table usage_timeseries is 'usage_timeseries(grain, start_date, end_date, user_key := ''all'', editor := ''all'', language := ''all''): One row per period of grain ''day'', ''week'' (ISO, starting Monday) or ''month'' overlapping the range, periods without activity included as zeros: period_start, period_end, days_in_range (days of the period inside the range), days_loaded, days_missing, loaded (true when no day is missing), distinct active users over the period (so weekly and monthly actives are never sums of daily ones), metrics, rates and credits as in usage_summary. A period with no loaded day has NULL numbers; a period with some days missing sums its loaded days and says so in days_missing. Optional filters user_key, editor, language (default ''all''). Only loaded days are read (see analysis_days). With an editor or language filter, metrics and active users come from fct_editor_language_activity and credits_consumed is NULL (credits have no editor or language); otherwise metrics come from fct_user_activity, active users from fct_dau_users and credits from fct_credit_usage. Example: select period_start, active_users, total_messages from usage_timeseries(''week'', ''2026-09-01'', ''2026-10-31'')';
comment on macro table usage_by_user is 'usage_by_user(start_date, end_date, user_key := ''all'', editor := ''all'', language := ''all''): One row per member with activity, metrics or credits in the range: identity, active_days, first_active_date, last_active_date (within the range), metrics, completion_acceptance_rate, line_acceptance_rate, messages_per_active_day, lines_per_active_day, credits_consumed. Optional filters user_key, editor, language (default ''all''). Only loaded days are read (see analysis_days). With an editor or language filter, metrics and active users come from fct_editor_language_activity and credits_consumed is NULL (credits have no editor or language); otherwise metrics come from fct_user_activity, active users from fct_dau_users and credits from fct_credit_usage. Example: select user_key, active_days, total_messages, credits_consumed from usage_by_user(''2026-10-01'', ''2026-10-31'') limit 20';
comment on macro table usage_by_editor is 'usage_by_editor(start_date, end_date, user_key := ''all'', editor := ''all'', language := ''all''): One row per editor, from fct_editor_language_activity: active_users (distinct members), active_user_days, metrics, rates, messages and lines per active user, share_of_lines. No credits (they have no editor). Optional filters user_key, editor, language (default ''all''). Only loaded days are read (see analysis_days). Example: select editor, active_users, completion_acceptance_rate from usage_by_editor(''2026-10-01'', ''2026-10-31'')';
comment on macro table usage_by_language is 'usage_by_language(start_date, end_date, user_key := ''all'', editor := ''all'', language := ''all''): One row per programming language, from fct_editor_language_activity: active_users, active_user_days, metrics, rates, messages and lines per active user, share_of_lines. No credits (they have no language). Optional filters user_key, editor, language (default ''all''). Only loaded days are read (see analysis_days). Example: select language, active_users, total_modified_lines_of_code from usage_by_language(''2026-10-01'', ''2026-10-31'', editor := ''VSCode'')';
comment on macro table usage_by_surface is 'usage_by_surface(start_date, end_date, user_key := ''all'', editor := ''all'', language := ''all''): One row per surface, in this order: completions, chat, remote_agent, ide_agent, cli_interactive, cli_non_interactive. messages: the surface''s messages (for completions: completions_count); lines_of_code: its lines (NULL for chat, which reports none); active_users: distinct members with at least one message on it; share_of_lines: its part of the lines over all surfaces. NULL numbers when no day of the range is loaded. Optional filters user_key, editor, language (default ''all''). Only loaded days are read (see analysis_days). Example: select * from usage_by_surface(''2026-10-01'', ''2026-10-31'')';
comment on macro table credits_by_model is 'credits_by_model(start_date, end_date, user_key := ''all'', editor := ''all'', language := ''all''): One row per model, from fct_credit_usage: credits_consumed, share_of_credits, users (distinct members who spent credits on it), days_used. Optional filter user_key; an editor or language other than ''all'' is refused with an error, because credits have no editor or language. Only loaded days are read. Example: select * from credits_by_model(''2026-10-01'', ''2026-10-31'')';
comment on macro table credits_by_user is 'credits_by_user(start_date, end_date, user_key := ''all'', editor := ''all'', language := ''all''): One row per member with credits, from fct_credit_usage: identity, credits_consumed, share_of_credits, models_used, top_model (the model with most credits), days_used. Optional filter user_key; an editor or language other than ''all'' is refused with an error. Only loaded days are read. Example: select user_key, credits_consumed, top_model from credits_by_user(''2026-10-01'', ''2026-10-31'') limit 20';
comment on macro table active_users_trailing is 'active_users_trailing(start_date, end_date, user_key := ''all'', editor := ''all'', language := ''all''): One row per day of the range: date, loaded, dau (distinct members active on the day), wau and mau (distinct members active in the 7 and the 28 days ending on the day: trailing windows, which reach back before start_date), week_days_loaded and month_days_loaded (the loaded days in each window; fewer than 7 or 28 means the window is partial). dau is NULL on a day not loaded, wau and mau when no day of their window is loaded. Optional filters user_key, editor, language as in usage_summary. Only loaded days are read (see analysis_days). Example: select date, dau, wau, mau from active_users_trailing(''2026-10-01'', ''2026-10-31'')';
comment on macro table credits_timeseries is 'credits_timeseries(grain, start_date, end_date, user_key := ''all'', editor := ''all'', language := ''all''): One row per period of grain ''day'', ''week'' (ISO, starting Monday) or ''month'' overlapping the range and per model with credits in the range, from fct_credit_usage: period_start, period_end, days_in_range, days_loaded, days_missing, model_name, credits_consumed (0 when the model has none in the period, NULL when no day of the period is loaded). No rows when no credits were spent in the range. Optional filter user_key; an editor or language other than ''all'' is refused with an error, because credits have no editor or language. Only loaded days are read. Example: select period_start, model_name, credits_consumed from credits_timeseries(''week'', ''2026-09-01'', ''2026-10-31'')';
comment on macro table budget_utilisation is 'budget_utilisation(month, user_key := ''all'', editor := ''all'', language := ''all''): One row per budget override in force for the month (month: any day of it; the overrides are the latest snapshot on or before the month''s last day): limit_value, credits_consumed over the month''s loaded days, percent_used = 100 * credits_consumed / limit_value, daily_burn_rate = credits_consumed / days_loaded, projected_month_end = daily_burn_rate * days_in_month, limit_reached_date (first day the running total reached the limit), projected_limit_date (that day if reached, else as_of_date + ceil((limit - consumed) / daily_burn_rate) days when that falls within the month, else NULL). Only BUDGET_RESOURCE_CREDITS_CONSUMED monthly overrides are measured; BUDGET_RESOURCE_USD_COST overrides are listed with NULL consumption because the warehouse has no cost data. Optional filter user_key; an editor or language other than ''all'' is refused with an error. Example: select user_key, limit_value, percent_used, projected_limit_date from budget_utilisation(''2026-11-01'')';
comment on macro table analysis_calendar is 'analysis_calendar(start_date, end_date): One row per day of the range: date, loaded, missing_endpoints, no_activity, provisional (from analysis_days; a day never loaded has loaded = false). A day is loaded when pipeline_partitions holds the four per-user daily endpoints the macros read (dau, user_activity, editor_language, credit_usage), with status ''loaded'' or ''empty''. Example: select * from analysis_calendar(''2026-10-01'', ''2026-10-31'') where not loaded';
comment on macro analysis_grain is 'analysis_grain(grain): The grain of the series macros, checked and lower-cased: ''day'', ''week'' or ''month''; any other value is an error naming it. Example: select analysis_grain(''Week'')';
comment on macro table analysis_periods is 'analysis_periods(grain, start_date, end_date): One row per day, ISO week (Monday) or month (grain ''day'', ''week'' or ''month'') overlapping the range: period_start, period_end, days_in_range (its days inside the range) and days_loaded (see analysis_days). The periods of usage_timeseries and credits_timeseries. Example: select * from analysis_periods(''week'', ''2026-10-01'', ''2026-10-31'') where days_loaded < days_in_range';
comment on macro table usage_rows is 'usage_rows(start_date, end_date, user_key := ''all'', editor := ''all'', language := ''all''): The building block of the usage macros: one row per loaded day and member with activity, metrics or credits, after the filters: date, identity, is_active (in fct_dau_users, or with an editor or language filter in fct_editor_language_activity), metrics (0 where the member has no metrics row that day, NULL where the API omitted a field) and credits_consumed (NULL with an editor or language filter). Example: select date, count(*) filter (where is_active) as dau from usage_rows(''2026-10-01'', ''2026-10-31'') group by date order by date';
comment on macro table editor_language_breakdown is 'editor_language_breakdown(dimension, start_date, end_date, user_key := ''all'', editor := ''all'', language := ''all''): The one breakdown behind usage_by_editor (dimension ''editor'') and usage_by_language (dimension ''language''): one row per value of the dimension (column dimension_value) with active_users, active_user_days, metrics, rates, messages and lines per active user, share_of_lines. Only loaded days are read (see analysis_days). Example: select dimension_value, active_users from editor_language_breakdown(''editor'', ''2026-10-01'', ''2026-10-31'')';
comment on macro table editor_language_rows is 'editor_language_rows(start_date, end_date, user_key := ''all'', editor := ''all'', language := ''all''): The building block of usage_by_editor and usage_by_language: the rows of fct_editor_language_activity on loaded days, after the filters, with member, is_service_account, editor_name, language_name and the metrics. Example: select editor_name, language_name, sum(total_messages) from editor_language_rows(''2026-10-01'', ''2026-10-31'') group by all';
comment on macro metric_names is 'metric_names(): The 16 metric column names, in the API''s order, for use with COLUMNS. Example: select date, columns(metric_names()) from fct_daily_usage order by date desc limit 7';
comment on macro known_sum is 'known_sum(x): Aggregate: the sum of x as BIGINT; 0 over no rows; NULL when any row''s x is NULL (a field the API omitted makes the total unknown, not smaller). Example: select known_sum(completions_suggested_lines_of_code) from fct_user_activity';
comment on macro analysis_endpoints is 'analysis_endpoints(): The endpoints whose partitions make a day loaded for the analysis macros: credit_usage, dau, editor_language, user_activity. Example: select analysis_endpoints()';
