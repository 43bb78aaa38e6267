-- Documentation inside the warehouse, part 3: COMMENT ON the columns of the analysis layer's views, so
-- that duckdb_columns() explains them. Not on a DuckLake: DuckLake 1.5.5 refuses a comment on a view's
-- column (warehouse/analysis.py: LAKE_SKIPPED_FILES).

comment on column analysis_days.organization is 'The organisation whose partitions these are.';
comment on column analysis_days.date is 'The UTC day.';
comment on column analysis_days.loaded is 'True when all four endpoints are loaded for the organisation and day.';
comment on column analysis_days.missing_endpoints is 'The endpoints not loaded yet for the day (empty when loaded).';
comment on column analysis_days.provisional is 'True when any of the day''s partitions is provisional: its numbers may still change (see pipeline_partitions.provisional).';
comment on column analysis_days.no_activity is 'True when the day is loaded and every endpoint was empty: the API reported no activity at all (zero, not missing).';
comment on column user_adoption.organization is 'The member''s organisation: a member is (organization, user_key).';
comment on column user_adoption.user_key is 'The member: user_email for a person, ''service_account:'' || service_account_name for a service account.';
comment on column user_adoption.user_email is 'The person''s email, or its keyed pseudonym (user-<hash>@pseudonymized.invalid) when ANALYTICS_PSEUDONYMIZE=1; NULL for a service account.';
comment on column user_adoption.service_account_name is 'The service account''s name; NULL for a person.';
comment on column user_adoption.is_service_account is 'True for a service account.';
comment on column user_adoption.first_active_date is 'First day the member is in fct_dau_users (first in the warehouse: history before the first loaded day is unknown).';
comment on column user_adoption.last_active_date is 'Last day the member is in fct_dau_users.';
comment on column user_adoption.active_days is 'Days the member is in fct_dau_users.';
comment on column user_adoption.active_days_last_7 is 'Active days among the 7 most recent loaded days.';
comment on column user_adoption.active_days_last_28 is 'Active days among the 28 most recent loaded days.';
comment on column user_adoption.as_of_date is 'The organisation''s most recent loaded day: the end of both windows.';
comment on column user_adoption.days_since_last_active is 'as_of_date - last_active_date, in days.';
comment on column user_adoption.status is '''new'', ''active'', ''idle'' or ''dormant'' (thresholds in the view''s comment).';
comment on column analysis_macros.macro_name is 'The macro''s name.';
comment on column analysis_macros.kind is '''table macro'' (use in FROM) or ''scalar macro''.';
comment on column analysis_macros.signature is 'Parameters; name := value ones are optional, with their default.';
comment on column analysis_macros.description is 'What the macro returns (its COMMENT).';
comment on column analysis_macros.example is 'A query to try.';
comment on column analysis_glossary.term is 'A column name returned by one or more analysis macros.';
comment on column analysis_glossary.definition is 'Its exact definition.';
