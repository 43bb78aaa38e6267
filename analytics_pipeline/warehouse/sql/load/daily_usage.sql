insert into fct_daily_usage by name
select * exclude (raw_json, partition_date, partition_fetched_at), $organization as organization
from {{ landed }}
where date = partition_date
