-- no_negative_metrics: per day of the run, the organisation's rows, and for each column checked (in
-- order) the rows below zero and the lowest value.
select {{ day_column }}, count(*), [{{ negative_rows }}], [{{ lowest }}]
from {{ table }}
where organization = $organization
    and {{ day_column }} between $first and $last
    and list_contains($days::date[], {{ day_column }})
group by all
