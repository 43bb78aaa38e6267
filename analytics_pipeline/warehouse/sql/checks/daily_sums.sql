-- matches_daily_usage, matches_user_activity: the organisation's every metric summed per day of the run.
select date, {{ metric_sums }}
from {{ table }}
where organization = $organization
    and date between $first and $last
    and list_contains($days::date[], date)
group by date
