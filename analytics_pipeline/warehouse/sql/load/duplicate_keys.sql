-- The keys of the table's grain that more than one row of the day shares (0: the load keeps the grain).
select count(*)
from (
    select 1
    from {{ table }}
    where {{ day_column }} = $date
    group by {{ grain }}
    having count(*) > 1
)
