-- The keys of the table's grain (organization first) that more than one row of the organisation's day
-- shares (0: the load keeps the grain).
select count(*)
from (
    select 1
    from {{ table }}
    where organization = $organization and {{ day_column }} = $date
    group by {{ grain }}
    having count(*) > 1
)
