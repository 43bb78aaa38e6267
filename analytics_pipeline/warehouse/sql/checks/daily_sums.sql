-- matches_daily_usage, matches_user_activity: every metric summed per day of the run.
select date, {{ metric_sums }}
from {{ table }}
where date between $first and $last and list_contains($days::date[], date)
group by date
