-- The days being loaded again whose rows repeat a key of the table's grain (organization first): each
-- such partition is quarantined, to be fetched anew.
select distinct {{ day_column }}
from (
    select {{ day_column }}
    from {{ table }}
    where organization = $organization and {{ day_column }} in (select date from rebuild_partitions)
    group by {{ grain }}
    having count(*) > 1
)
