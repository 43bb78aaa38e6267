-- unique_keys: per day of the run, the keys of the table's grain (organization first) found in more than
-- one of the organisation's rows, the rows they are in, and the first few keys. The range lets DuckDB
-- skip row groups outside the run; the list keeps exactly the run's days.
with keys as (
    select {{ day_column }} as day, concat_ws(' | ', {{ grain }}) as key, count(*) as copies
    from {{ table }}
    where organization = $organization
        and {{ day_column }} between $first and $last
        and list_contains($days::date[], {{ day_column }})
    group by all
    having count(*) > 1
)

select day, count(*), sum(copies)::bigint, list(key order by key)[1:$examples]
from keys
group by day
