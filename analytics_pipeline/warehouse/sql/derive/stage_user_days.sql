-- Each member's day summed over their editor-language rows: the candidate rows of fct_user_activity
-- (and, by member, of fct_dau_users) for $days. Checked before any is kept (failing_days.sql,
-- members_differ.sql).
create or replace temp table derived_user_days as
select
    date,
    user_key,
    any_value(user_email) as user_email,
    any_value(service_account_name) as service_account_name,
    {{ metric_sums }}
from fct_editor_language_activity
where organization = $organization and date in (select unnest($days::date[]))
group by date, user_key
