-- Per day, which of a reconciliation's two endpoints pipeline_partitions holds for the organisation.
select date, list(endpoint)
from pipeline_partitions
where organization = $organization
    and list_contains($endpoints, endpoint)
    and list_contains($days::date[], date)
group by date
