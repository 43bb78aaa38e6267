-- The months of a monthly endpoint the organisation loaded in a range, with the last day each window
-- reached.
select date, window_end
from pipeline_partitions
where organization = $organization and endpoint = $endpoint and date between $start and $end
