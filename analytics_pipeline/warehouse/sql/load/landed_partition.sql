(
    -- One landed partition: its records, with the day it holds and when it was fetched (bound).
    select
        *,
        $date::date as partition_date,
        $fetched_at::timestamptz as partition_fetched_at
    from read_parquet($path, hive_partitioning = false)
) as landed
