-- The days each loaded monthly partition of $months sums (its window: the month, up to the day it was
-- fetched, within the API's reach).
select date as month, window_start, window_end
from pipeline_partitions
where organization = $organization and endpoint = $monthly and date in (select unnest($months::date[]))
