-- Each organisation's first day loaded from one of the endpoints named (the daily ones: a month's
-- partition is dated its first day, which may be before any day asked for).
select organization, min(date) as first_day
from pipeline_partitions
where list_contains($endpoints, endpoint)
group by organization
