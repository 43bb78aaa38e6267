-- Per day, which of a reconciliation's two endpoints pipeline_partitions holds.
select date, list(endpoint)
from pipeline_partitions
where list_contains($endpoints, endpoint) and list_contains($days::date[], date)
group by date
