-- matches_dau_count: per day of the run, the organisation's fct_dau_count.user_count and its distinct
-- members in fct_dau_users.
with counted as (
    select date, max(user_count) as user_count
    from fct_dau_count
    where organization = $organization
        and date between $first and $last
        and list_contains($days::date[], date)
    group by date
),

listed as (
    select date, count(distinct user_key) as distinct_users
    from fct_dau_users
    where organization = $organization
        and date between $first and $last
        and list_contains($days::date[], date)
    group by date
),

final as (
    select d.day, c.user_count, coalesce(l.distinct_users, 0) as distinct_users
    from unnest($days::date[]) as d(day)
    left join counted as c on c.date = d.day
    left join listed as l on l.date = d.day
)

select * from final
