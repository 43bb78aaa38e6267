-- The member's key, defined once: every load computes user_key with it. Replaced (with its comment)
-- each time a writer connects, so a warehouse always has the definition of the code that loads it.
create or replace macro user_key(user_email, service_account_name) as
    coalesce(user_email, 'service_account:' || service_account_name);

comment on macro user_key is 'user_key(user_email, service_account_name): The member''s key, as the user_key column of every table holds it: user_email for a person, ''service_account:'' || service_account_name for a service account. Example: select user_key(null, ''ci-bot'')';
