-- The member's key, defined once: every load computes user_key with it. Created or replaced (and then
-- commented: comment_on_user_key.sql) by install_analysis() when the warehouse's SQL changed
-- (warehouse/analysis.py: SCHEMA_MACROS), before anything is loaded.
create or replace macro user_key(user_email, service_account_name) as
    coalesce(user_email, 'service_account:' || service_account_name);
