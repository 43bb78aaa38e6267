-- (endpoint, date) of the partitions loaded in a range, for the endpoints named.
select endpoint, date
from pipeline_partitions
where date between $start and $end and list_contains($endpoints, endpoint)
