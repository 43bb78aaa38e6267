-- The (endpoint, day) partitions of the organisation loaded in a range. A month loaded before it ended is
-- fetched again (its numbers can still change): not loaded here.
select distinct endpoint, date
from pipeline_partitions
where organization = $organization
    and date between $start and $end
    and (endpoint <> $monthly or window_end = last_day(date))
