-- The member's key, defined once: every load computes user_key with it. Created or replaced, with its
-- comment, by install_analysis() when the warehouse's SQL changed (warehouse/analysis.py: SCHEMA_MACROS),
-- before anything is loaded.
create or replace macro user_key(user_email, service_account_name) as
    coalesce(user_email, 'service_account:' || service_account_name);

comment on macro user_key is 'user_key(user_email, service_account_name): The member''s key, as the user_key column of every table holds it: user_email for a person, ''service_account:'' || service_account_name for a service account. Example: select user_key(null, ''ci-bot'')';
