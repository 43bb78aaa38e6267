-- (endpoint, date) of the organisation's partitions loaded in a range, for the endpoints named.
select endpoint, date
from pipeline_partitions
where organization = $organization and date between $start and $end and list_contains($endpoints, endpoint)
