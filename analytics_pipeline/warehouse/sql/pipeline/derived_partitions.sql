-- The organisation's partitions on the given days that a backfill derived (no landed answer of their own).
select endpoint, date
from pipeline_partitions
where organization = $organization and list_contains($days, date) and source = 'derived'
