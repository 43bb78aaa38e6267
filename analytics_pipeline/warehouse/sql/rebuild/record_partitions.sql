-- The endpoint's partitions loaded again, recorded as a load records each (pipeline/record_partition.sql).
insert into pipeline_partitions by name
select
    $endpoint as endpoint,
    date,
    rows,
    requests,
    pages,
    case when rows > 0 then 'loaded' else 'empty' end as status,
    fetched_at,
    now() as loaded_at,
    window_start,
    window_end,
    unknown_fields,
    fetched_at as checked_at,
    provisional,
    nullif(content_digest, '') as content_digest,
    'api' as source,
    $organization as organization
from rebuild_partitions
