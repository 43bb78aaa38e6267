-- Credits by model, by member and over time (fct_credit_usage).

create or replace macro credits_by_model(
    start_date, end_date, organization := 'all', user_key := 'all', editor := 'all', language := 'all'
) as table
with guard as (
    select
        case
            when coalesce(editor, 'all') = 'all' and coalesce(language, 'all') = 'all' then true
            else error(
                'credits have no editor or language; call credits_by_model without those filters'
            )
        end as ok
),

loaded_days as (
    select c.date
    from analysis_calendar(start_date, end_date, organization := organization) as c
    where c.loaded
),

credits as (
    select c.date, (c.organization, c.user_key) as member, c.model_name, c.credits_consumed
    from fct_credit_usage as c
    cross join guard as g
    where g.ok
        and c.date in (select d.date from loaded_days as d)
        and (coalesce(organization, 'all') = 'all' or c.organization = organization)
        and (coalesce(user_key, 'all') = 'all' or c.user_key = user_key)
),

per_model as (
    select
        c.model_name,
        sum(c.credits_consumed) as credits_consumed,
        count(distinct c.member) as users,
        count(distinct c.date) as days_used
    from credits as c
    group by c.model_name
),

final as (
    select
        p.model_name,
        p.credits_consumed,
        p.credits_consumed / nullif(sum(p.credits_consumed) over (), 0) as share_of_credits,
        p.users,
        p.days_used
    from per_model as p
)

select * from final
order by final.credits_consumed desc, final.model_name;

create or replace macro credits_by_user(
    start_date, end_date, organization := 'all', user_key := 'all', editor := 'all', language := 'all'
) as table
with guard as (
    select
        case
            when coalesce(editor, 'all') = 'all' and coalesce(language, 'all') = 'all' then true
            else error(
                'credits have no editor or language; call credits_by_user without those filters'
            )
        end as ok
),

loaded_days as (
    select c.date
    from analysis_calendar(start_date, end_date, organization := organization) as c
    where c.loaded
),

credits as (
    select
        c.organization,
        c.date,
        c.user_key as member,
        c.user_email,
        c.service_account_name,
        c.model_name,
        c.credits_consumed
    from fct_credit_usage as c
    cross join guard as g
    where g.ok
        and c.date in (select d.date from loaded_days as d)
        and (coalesce(organization, 'all') = 'all' or c.organization = organization)
        and (coalesce(user_key, 'all') = 'all' or c.user_key = user_key)
),

per_user_model as (
    select c.organization, c.member, c.model_name, sum(c.credits_consumed) as credits_consumed
    from credits as c
    group by c.organization, c.member, c.model_name
),

per_user as (
    select
        c.organization,
        c.member,
        any_value(c.user_email) as user_email,
        any_value(c.service_account_name) as service_account_name,
        bool_or(c.service_account_name is not null) as is_service_account,
        sum(c.credits_consumed) as credits_consumed,
        count(distinct c.model_name) as models_used,
        count(distinct c.date) as days_used
    from credits as c
    group by c.organization, c.member
),

top_models as (
    select m.organization, m.member, arg_max(m.model_name, (m.credits_consumed, m.model_name)) as top_model
    from per_user_model as m
    group by m.organization, m.member
),

final as (
    select
        p.organization,
        p.member as user_key,
        p.user_email,
        p.service_account_name,
        p.is_service_account,
        p.credits_consumed,
        p.credits_consumed / nullif(sum(p.credits_consumed) over (), 0) as share_of_credits,
        p.models_used,
        t.top_model,
        p.days_used
    from per_user as p
    left join top_models as t on t.organization = p.organization and t.member = p.member
)

select * from final
order by final.credits_consumed desc, final.user_key, final.organization;

create or replace macro credits_timeseries(
    grain, start_date, end_date, organization := 'all', user_key := 'all', editor := 'all',
    language := 'all'
) as table
with guard as (
    select
        case
            when coalesce(editor, 'all') <> 'all' or coalesce(language, 'all') <> 'all' then error(
                'credits have no editor or language; call credits_timeseries without those filters'
            )
            else analysis_grain(grain)
        end as grain
),

calendar as (
    select
        date_trunc(g.grain, c.date)::date as period_start,
        c.date,
        c.loaded
    from analysis_calendar(start_date, end_date, organization := organization) as c
    cross join guard as g
),

periods as (
    select * from analysis_periods(grain, start_date, end_date, organization := organization)
),

credits as (
    select
        k.period_start,
        c.model_name,
        sum(c.credits_consumed) as credits_consumed
    from fct_credit_usage as c
    inner join calendar as k on k.date = c.date and k.loaded
    where (coalesce(organization, 'all') = 'all' or c.organization = organization)
        and (coalesce(user_key, 'all') = 'all' or c.user_key = user_key)
    group by k.period_start, c.model_name
),

models as (
    select distinct c.model_name from credits as c
),

-- Every period with every model used in the range, so a chart's series line up.
final as (
    select
        p.period_start,
        p.period_end,
        p.days_in_range,
        p.days_loaded,
        p.days_in_range - p.days_loaded - p.days_beyond_reach as days_missing,
        p.days_beyond_reach,
        m.model_name,
        -- No day loaded: unknown (NULL). Loaded without credits on the model: zero.
        if(p.days_loaded = 0, null, coalesce(c.credits_consumed, 0)) as credits_consumed
    from periods as p
    cross join models as m
    left join credits as c on c.period_start = p.period_start and c.model_name = m.model_name
)

select * from final
order by final.period_start, final.model_name;
