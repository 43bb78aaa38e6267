-- The rows a load left in the partition's day.
select count(*)
from {{ table }}
where {{ day_column }} = $date
