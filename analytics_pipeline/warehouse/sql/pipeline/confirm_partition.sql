-- A re-check found the organisation's day unchanged: its partitions were confirmed at $checked_at.
update pipeline_partitions
set checked_at = $checked_at::timestamptz, provisional = $provisional
where organization = $organization and endpoint = $endpoint and date = $date::date
