insert into fct_dau_count by name
select date, user_count, $organization as organization
from {{ landed }}
where date = partition_date
