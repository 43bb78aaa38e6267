insert into pipeline_rechecks by name
select
    $checked_at::timestamptz as checked_at,
    $date::date as date,
    $outcome as outcome,
    $changed_endpoints::varchar[] as changed_endpoints,
    $missing_endpoints::varchar[] as missing_endpoints,
    $organization as organization
