-- The rows a load left in the partition's day, for its organisation.
select count(*)
from {{ table }}
where organization = $organization and {{ day_column }} = $date
