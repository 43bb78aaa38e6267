-- accepted_within_completions: per day of the run, the organisation's rows, those accepting more
-- completions than were served, and the first few of them.
select
    {{ day_column }},
    count(*),
    count(*) filter (where completions_accepted > completions_count),
    (
        list(
            concat_ws(' | ', {{ grain }}) || ': ' || completions_accepted || ' accepted > '
            || completions_count || ' completions'
            order by {{ grain }}
        ) filter (where completions_accepted > completions_count)
    )[1:$examples]
from {{ table }}
where organization = $organization
    and {{ day_column }} between $first and $last
    and list_contains($days::date[], {{ day_column }})
group by all
