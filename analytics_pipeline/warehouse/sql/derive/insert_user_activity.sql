-- Each member's accepted day: their editor-language rows summed.
insert into fct_user_activity by name
select *, $organization as organization
from derived_user_days
where date in (select unnest($days::date[]))
