insert into fct_daily_usage by name
select * exclude (raw_json)
from read_parquet($path, hive_partitioning = false)
where date = $date
