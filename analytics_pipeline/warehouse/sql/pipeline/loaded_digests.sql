-- The content digest of every partition loaded on the given days.
select endpoint, date, content_digest
from pipeline_partitions
where list_contains($days, date)
