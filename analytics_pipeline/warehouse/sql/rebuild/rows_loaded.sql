-- The rows the endpoint's table holds of the days loaded again.
select count(*)
from {{ table }}
where organization = $organization and {{ day_column }} in (select date from rebuild_partitions)
