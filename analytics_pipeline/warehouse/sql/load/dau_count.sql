insert into fct_dau_count by name
select date, user_count
from read_parquet($path, hive_partitioning = false)
where date = $date
