(
    -- Many landed partitions of one endpoint at once: each file's records, with the day it holds and when
    -- it was fetched (from rebuild_partitions, which the caller registers: one row per file).
    select
        records.* exclude (filename),
        partitions.date as partition_date,
        partitions.fetched_at as partition_fetched_at
    from read_parquet($paths, hive_partitioning = false, filename = true) as records
    inner join rebuild_partitions as partitions on partitions.path = records.filename
) as landed
