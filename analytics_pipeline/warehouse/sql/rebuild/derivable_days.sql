-- The days from $start to $end whose dau or user_activity partition is not loaded: a derivation's
-- candidates (it keeps only those its checks accept).
with days as (
    select unnest(generate_series($start::date, $end::date, interval 1 day))::date as date
)

select date
from days
where
    not exists (
        select 1 from pipeline_partitions as p
        where p.organization = $organization and p.date = days.date and p.endpoint = $dau
    )
    or not exists (
        select 1 from pipeline_partitions as p
        where p.organization = $organization and p.date = days.date and p.endpoint = $user_activity
    )
order by date
