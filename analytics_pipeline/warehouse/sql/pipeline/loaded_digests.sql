-- The content digest of every partition of the organisation loaded on the given days.
select endpoint, date, content_digest
from pipeline_partitions
where organization = $organization and list_contains($days, date)
