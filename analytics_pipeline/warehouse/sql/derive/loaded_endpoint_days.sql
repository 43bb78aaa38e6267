-- The days from $start to $end with $endpoint's partition loaded (fetched, or derived before).
select date
from pipeline_partitions
where organization = $organization and endpoint = $endpoint and date between $start and $end
