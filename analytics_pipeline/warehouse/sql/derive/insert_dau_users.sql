-- The members of each accepted day: those with editor-language rows that day.
insert into fct_dau_users by name
select date, user_key, user_email, service_account_name, $organization as organization
from derived_user_days
where date in (select unnest($days::date[]))
