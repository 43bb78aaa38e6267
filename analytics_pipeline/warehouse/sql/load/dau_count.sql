insert into fct_dau_count by name
select date, user_count, $organization as organization
from read_parquet($path, hive_partitioning = false)
where date = $date
