insert into pipeline_partitions by name
select
    $endpoint as endpoint,
    $date::date as date,
    $rows as rows,
    $requests as requests,
    $pages as pages,
    $status as status,
    $fetched_at::timestamptz as fetched_at,
    now() as loaded_at,
    $window_start::date as window_start,
    $window_end::date as window_end,
    $unknown_fields::varchar[] as unknown_fields,
    $fetched_at::timestamptz as checked_at,
    $provisional as provisional,
    $content_digest as content_digest,
    'api' as source,
    $organization as organization
