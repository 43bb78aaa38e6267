-- Documentation inside the warehouse, part 1: COMMENT ON every table of the schema and its columns, so
-- that duckdb_tables() and duckdb_columns() explain them. Runs after the layer's objects (replacing a
-- view or macro drops its comment, so install_analysis() runs every file of the layer together, in one
-- transaction). Each {{ metric_comments <table> }} is the table's 16 metric comments, written once in
-- warehouse/sql/metrics.py.

-- fct_dau_count
comment on table fct_dau_count is 'Daily active users as counted by the API (dau-count). One row per loaded day, days without activity included as 0. Grain: organization, date.';
comment on column fct_dau_count.date is 'The UTC day.';
comment on column fct_dau_count.user_count is 'Members (people and service accounts) active that day, as the API counts them; should equal the distinct user_key of fct_dau_users that day (checked by the matches_dau_count asset check).';

-- fct_dau_users
comment on table fct_dau_users is 'The members active on each day (dau): the source of active-user counts in the analysis macros (distinct user_key, so weekly and monthly actives are never sums of daily ones). Grain: organization, date, user_key.';
comment on column fct_dau_users.date is 'The UTC day.';
comment on column fct_dau_users.user_key is 'The member: user_email for a person, ''service_account:'' || service_account_name for a service account.';
comment on column fct_dau_users.user_email is 'The person''s email, or its keyed pseudonym (user-<hash>@pseudonymized.invalid) when ANALYTICS_PSEUDONYMIZE=1; NULL for a service account.';
comment on column fct_dau_users.service_account_name is 'The service account''s name; NULL for a person.';

-- fct_daily_usage
comment on table fct_daily_usage is 'Organisation-wide usage metrics per day (daily-usage). Grain: organization, date. A day without activity has no row: pipeline_partitions tells a loaded empty day from a day not loaded.';
comment on column fct_daily_usage.date is 'The UTC day.';
{{ metric_comments fct_daily_usage }}

-- fct_user_activity
comment on table fct_user_activity is 'Per-member usage metrics per day (user-activity queried one day at a time). Grain: organization, date, user_key. The analysis macros'' metrics come from here unless an editor or language filter is given.';
comment on column fct_user_activity.date is 'The UTC day.';
comment on column fct_user_activity.user_key is 'The member: user_email for a person, ''service_account:'' || service_account_name for a service account.';
comment on column fct_user_activity.user_email is 'The person''s email, or its keyed pseudonym (user-<hash>@pseudonymized.invalid) when ANALYTICS_PSEUDONYMIZE=1; NULL for a service account.';
comment on column fct_user_activity.service_account_name is 'The service account''s name; NULL for a person.';
{{ metric_comments fct_user_activity }}

-- fct_user_activity_monthly
comment on table fct_user_activity_monthly is 'Per-member metrics and active days summed over a calendar month exactly as the API sums it (user-activity queried one month at a time; the coarse backfill pass). Grain: organization, month, user_key.';
comment on column fct_user_activity_monthly.month is 'First day of the calendar month (UTC).';
comment on column fct_user_activity_monthly.user_key is 'The member: user_email for a person, ''service_account:'' || service_account_name for a service account.';
comment on column fct_user_activity_monthly.user_email is 'The person''s email, or its keyed pseudonym (user-<hash>@pseudonymized.invalid) when ANALYTICS_PSEUDONYMIZE=1; NULL for a service account.';
comment on column fct_user_activity_monthly.service_account_name is 'The service account''s name; NULL for a person.';
comment on column fct_user_activity_monthly.active_days is 'Days of the month on which the member was active, as the API counts them.';
{{ metric_comments fct_user_activity_monthly }}

-- fct_editor_language_activity
comment on table fct_editor_language_activity is 'Per-member usage metrics per day by editor and programming language (daily-user-activity-by-editor-language). Grain: organization, date, user_key, language, editor. The only table with editor and language: the analysis macros read it when an editor or language filter is given.';
comment on column fct_editor_language_activity.date is 'The UTC day.';
comment on column fct_editor_language_activity.user_key is 'The member: user_email for a person, ''service_account:'' || service_account_name for a service account.';
comment on column fct_editor_language_activity.user_email is 'The person''s email, or its keyed pseudonym (user-<hash>@pseudonymized.invalid) when ANALYTICS_PSEUDONYMIZE=1; NULL for a service account.';
comment on column fct_editor_language_activity.service_account_name is 'The service account''s name; NULL for a person.';
comment on column fct_editor_language_activity.language is 'Programming language as the API names it (e.g. Python, TypeScript, Unknown).';
comment on column fct_editor_language_activity.editor is 'Editor or client as the API names it (e.g. VSCode, JetBrains, Vim, CLI, Unknown).';
{{ metric_comments fct_editor_language_activity }}

-- fct_credit_usage
comment on table fct_credit_usage is 'Credits consumed per member, day and model (credit-usage-by-user with by_date and by_model). Grain: organization, date, user_key, model_name. Only positive totals are listed. Credits have no editor or language.';
comment on column fct_credit_usage.date is 'The UTC day.';
comment on column fct_credit_usage.user_key is 'The member: user_email for a person, ''service_account:'' || service_account_name for a service account.';
comment on column fct_credit_usage.user_email is 'The person''s email, or its keyed pseudonym (user-<hash>@pseudonymized.invalid) when ANALYTICS_PSEUDONYMIZE=1; NULL for a service account.';
comment on column fct_credit_usage.service_account_name is 'The service account''s name; NULL for a person.';
comment on column fct_credit_usage.model_name is 'The model the credits were spent on.';
comment on column fct_credit_usage.credits_consumed is 'Credits consumed by the member on that model that day.';

-- fct_budget_overrides
comment on table fct_budget_overrides is 'Explicit per-user budget overrides, one snapshot per partition day (get-user-budget-overrides is real-time configuration: each run writes what it read as the snapshot of each of its days). Grain: organization, snapshot_date, user_key, resource, period. The organisation default is not included.';
comment on column fct_budget_overrides.snapshot_date is 'The partition day this snapshot was written for.';
comment on column fct_budget_overrides.user_key is 'The member: user_email for a person, ''service_account:'' || service_account_name for a service account. Overrides are for people only.';
comment on column fct_budget_overrides.user_email is 'The person''s email, or its keyed pseudonym (user-<hash>@pseudonymized.invalid) when ANALYTICS_PSEUDONYMIZE=1; NULL for a service account.';
comment on column fct_budget_overrides.service_account_name is 'The service account''s name; NULL for a person. Always NULL here.';
comment on column fct_budget_overrides.resource is 'What the limit applies to: BUDGET_RESOURCE_CREDITS_CONSUMED (compared with fct_credit_usage.credits_consumed) or BUDGET_RESOURCE_USD_COST (no cost data in the warehouse).';
comment on column fct_budget_overrides.period is 'The budget period, e.g. BUDGET_PERIOD_MONTHLY (a calendar month, UTC).';
comment on column fct_budget_overrides.limit_value is 'The limit, in credits or USD according to resource (the API sends a decimal string).';
comment on column fct_budget_overrides.fetched_at is 'When the pipeline read the overrides from the API (a snapshot under 24 hours old may be reused for older days).';

-- fct_budget_changes
comment on table fct_budget_changes is 'Every budget override change analytics-pipeline budgets apply sent through set-user-budget-overrides, with its outcome: the audit trail of budgets as code. Grain: organization, run_id, user_key, resource, period.';
comment on column fct_budget_changes.changed_at is 'When the change was sent (UTC).';
comment on column fct_budget_changes.run_id is 'One apply: every change it sent shares this id.';
comment on column fct_budget_changes.user_key is 'The member whose budget changed: their user_email (overrides are for people only).';
comment on column fct_budget_changes.user_email is 'The person''s email, or its keyed pseudonym (user-<hash>@pseudonymized.invalid) when ANALYTICS_PSEUDONYMIZE=1.';
comment on column fct_budget_changes.resource is 'What the limit applies to: BUDGET_RESOURCE_CREDITS_CONSUMED or BUDGET_RESOURCE_USD_COST.';
comment on column fct_budget_changes.period is 'The budget period, e.g. BUDGET_PERIOD_MONTHLY.';
comment on column fct_budget_changes.action is '''add'' (the member had no override for this resource and period) or ''change'' (a different limit).';
comment on column fct_budget_changes.old_limit is 'The limit before the change, as read just before it was sent; NULL for an add.';
comment on column fct_budget_changes.new_limit is 'The limit the change set (or tried to set).';
comment on column fct_budget_changes.outcome is '''applied'' (the API accepted it), ''failed'' (the API refused it: nothing changed) or ''unconfirmed'' (no answer, or a server error, after every retry: it may or may not have been applied; the next budgets plan shows which).';
comment on column fct_budget_changes.error is 'Why the change failed or is unconfirmed (one line, no token); NULL when applied.';
comment on column fct_budget_changes.changed_by is 'The operating-system user who ran budgets apply.';

-- analysis_installed
comment on table analysis_installed is 'The version of the analysis layer (macros, views, comments) installed in this warehouse, and when: install_analysis() re-creates the layer when its SQL changes.';
comment on column analysis_installed.digest is 'SHA-256 of schema.sql, analysis.sql and comments.sql as installed.';
comment on column analysis_installed.installed_at is 'When the layer was installed.';

-- dim_users
comment on table dim_users is 'Every member seen in any fact table, an organisation''s rows rebuilt in full after each of its loads. Grain: organization, user_key.';
comment on column dim_users.user_key is 'The member: user_email for a person, ''service_account:'' || service_account_name for a service account.';
comment on column dim_users.user_email is 'The person''s email, or its keyed pseudonym (user-<hash>@pseudonymized.invalid) when ANALYTICS_PSEUDONYMIZE=1; NULL for a service account.';
comment on column dim_users.service_account_name is 'The service account''s name; NULL for a person.';
comment on column dim_users.is_service_account is 'True for a service account, false for a person.';
comment on column dim_users.first_active_date is 'First day with a row in a daily fact table (dau, user activity, editor-language, credits); NULL when seen only in a monthly or budget table.';
comment on column dim_users.last_active_date is 'Last such day; NULL as for first_active_date.';

-- pipeline_partitions
comment on table pipeline_partitions is 'What the pipeline loaded: one row per endpoint and partition day. A row means the day was fetched and loaded, with data (status ''loaded'') or without (status ''empty''): ''no data'' and ''not loaded'' are never confused. Grain: organization, endpoint, date.';
comment on column pipeline_partitions.endpoint is 'The endpoint''s short name: dau_count, dau, daily_usage, user_activity, editor_language, credit_usage, budget_overrides or user_activity_monthly.';
comment on column pipeline_partitions.date is 'The partition: a UTC day; for user_activity_monthly the first day of the month.';
comment on column pipeline_partitions.rows is 'API records landed for the partition.';
comment on column pipeline_partitions.requests is 'API requests attributed to the partition: a window''s requests count on its newest day only, so sum(requests) is the number of requests sent (but for a derivation''s check of an edge month: user-activity over the backfill''s part of it, kept under raw/_checks, which is no partition).';
comment on column pipeline_partitions.pages is 'Pages fetched for the partition.';
comment on column pipeline_partitions.status is '''loaded'' (the API returned records) or ''empty'' (the API returned none: no activity).';
comment on column pipeline_partitions.fetched_at is 'When the data was fetched from the API.';
comment on column pipeline_partitions.loaded_at is 'When the partition was loaded into the warehouse.';
comment on column pipeline_partitions.window_start is 'First day of the request window that served this partition (range endpoints).';
comment on column pipeline_partitions.window_end is 'Last day of that window.';
comment on column pipeline_partitions.unknown_fields is 'Fields the API sent that the pipeline does not know yet (kept in the raw Parquet''s raw_json).';
comment on column pipeline_partitions.source is '''api'' (the endpoint''s own answer, landed under raw/) or ''derived'' (dau and user_activity of a final day summed from its editor_language rows and accepted only when dau_count, daily_usage and the monthly user_activity agree; or a day dau_count reports empty, so its per-day endpoints were not asked). A derived partition has no raw file of its own: rows and requests describe what was derived, with 0 requests.';
comment on column pipeline_partitions.checked_at is 'When the data was last confirmed: fetched, or re-checked by a nightly run and found unchanged.';
comment on column pipeline_partitions.provisional is 'True while the day''s numbers may still change (late data): the day was last checked fewer than ANALYTICS_RECHECK_DAYS days after it was published; the nightly run re-checks it and re-loads it if it changed. False: final. NULL: loaded before the pipeline tracked it.';
comment on column pipeline_partitions.content_digest is 'An order-independent digest of the landed records: a re-check that fetches the same records gets the same digest.';

-- pipeline_rechecks
comment on table pipeline_rechecks is 'Every re-check of a provisional day by a nightly run: whether its numbers had changed since they were loaded (late or restated data) and were re-loaded. Grain: organization, checked_at, date.';
comment on column pipeline_rechecks.checked_at is 'When the re-check fetched the day again.';
comment on column pipeline_rechecks.date is 'The UTC day re-checked.';
comment on column pipeline_rechecks.outcome is '''unchanged'' (same records as loaded), ''changed'' (different records: the day was fetched again and re-loaded) or ''missing'' (some endpoint of the day was not loaded yet: it was fetched and loaded).';
comment on column pipeline_rechecks.changed_endpoints is 'The range endpoints whose records differed from what was loaded.';
comment on column pipeline_rechecks.missing_endpoints is 'The endpoints of the day that were not loaded before the re-check.';
