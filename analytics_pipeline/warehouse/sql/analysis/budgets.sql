-- Budget overrides against the credits consumed in a month, per member (organisation, user_key).

create or replace macro budget_utilisation(
    month, organization := 'all', user_key := 'all', editor := 'all', language := 'all'
) as table
with guard as (
    select
        case
            when coalesce(editor, 'all') = 'all' and coalesce(language, 'all') = 'all' then true
            else error(
                'credits have no editor or language; call budget_utilisation without those filters'
            )
        end as ok
),

bounds as (
    select
        date_trunc('month', month::date)::date as month_start,
        last_day(month::date) as month_end
),

-- The budget configuration in force in each organisation: its latest snapshot taken on or before the
-- month's last day.
snapshot as (
    select b.organization, max(b.snapshot_date) as snapshot_date
    from fct_budget_overrides as b
    cross join bounds as m
    where b.snapshot_date <= m.month_end
        and (coalesce(organization, 'all') = 'all' or b.organization = organization)
    group by b.organization
),

overrides as (
    select
        o.organization,
        o.user_key as member,
        o.user_email,
        o.resource,
        o.period,
        o.limit_value,
        o.snapshot_date
    from fct_budget_overrides as o
    inner join snapshot as s on o.organization = s.organization and o.snapshot_date = s.snapshot_date
    cross join guard as g
    where g.ok and (coalesce(user_key, 'all') = 'all' or o.user_key = user_key)
),

loaded_days as (
    select c.date
    from bounds as m
    cross join analysis_calendar(m.month_start, m.month_end, organization := organization) as c
    where c.loaded
),

coverage as (
    select max(d.date) as as_of_date, count(*) as days_loaded
    from loaded_days as d
),

daily as (
    select c.organization, c.user_key as member, c.date, sum(c.credits_consumed) as credits
    from fct_credit_usage as c
    where c.date in (select d.date from loaded_days as d)
        and (coalesce(organization, 'all') = 'all' or c.organization = organization)
    group by c.organization, c.user_key, c.date
),

cumulative as (
    select
        d.organization,
        d.member,
        d.date,
        sum(d.credits) over (partition by d.organization, d.member order by d.date) as running_credits
    from daily as d
),

consumed as (
    select d.organization, d.member, sum(d.credits) as credits_consumed
    from daily as d
    group by d.organization, d.member
),

measured as (
    select
        o.*,
        o.resource = 'BUDGET_RESOURCE_CREDITS_CONSUMED' and o.period = 'BUDGET_PERIOD_MONTHLY' as measurable,
        m.month_start,
        m.month_end,
        v.as_of_date,
        v.days_loaded,
        if(v.days_loaded = 0, null, coalesce(c.credits_consumed, 0)) as credits_so_far,
        (
            select min(x.date)
            from cumulative as x
            where x.organization = o.organization
                and x.member = o.member
                and x.running_credits >= o.limit_value::double
        ) as reached_on
    from overrides as o
    cross join bounds as m
    cross join coverage as v
    left join consumed as c on c.organization = o.organization and c.member = o.member
),

final as (
    select
        x.month_start as month,
        x.organization,
        x.member as user_key,
        x.user_email,
        x.resource,
        x.period,
        x.limit_value,
        x.snapshot_date,
        x.as_of_date,
        datediff('day', x.month_start, x.month_end) + 1 as days_in_month,
        x.days_loaded,
        if(x.measurable, x.credits_so_far, null) as credits_consumed,
        if(x.measurable, 100 * x.credits_so_far / nullif(x.limit_value::double, 0), null) as percent_used,
        if(x.measurable, x.credits_so_far / nullif(x.days_loaded, 0), null) as daily_burn_rate,
        if(
            x.measurable,
            x.credits_so_far / nullif(x.days_loaded, 0) * (datediff('day', x.month_start, x.month_end) + 1),
            null
        ) as projected_month_end,
        if(x.measurable, x.reached_on, null) as limit_reached_date,
        case
            when not x.measurable then null
            when x.reached_on is not null then x.reached_on
            when x.credits_so_far is null or x.credits_so_far = 0 then null
            when x.as_of_date + cast(ceil(
                (x.limit_value::double - x.credits_so_far) / (x.credits_so_far / x.days_loaded)
            ) as integer) <= x.month_end
                then x.as_of_date + cast(ceil(
                    (x.limit_value::double - x.credits_so_far) / (x.credits_so_far / x.days_loaded)
                ) as integer)
        end as projected_limit_date
    from measured as x
)

select * from final
order by final.percent_used desc nulls last, final.user_key, final.organization, final.resource;
