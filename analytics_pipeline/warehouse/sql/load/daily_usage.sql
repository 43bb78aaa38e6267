insert into fct_daily_usage by name
select * exclude (raw_json), $organization as organization
from read_parquet($path, hive_partitioning = false)
where date = $date
