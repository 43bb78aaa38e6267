-- The user_key macro's documentation (schema/user_key.sql). Not on a DuckLake: DuckLake 1.5.5 refuses
-- a comment on a macro (warehouse/analysis.py: LAKE_SKIPPED_FILES).
comment on macro user_key is 'user_key(user_email, service_account_name): The member''s key, as the user_key column of every table holds it: user_email for a person, ''service_account:'' || service_account_name for a service account. Example: select user_key(null, ''ci-bot'')';
