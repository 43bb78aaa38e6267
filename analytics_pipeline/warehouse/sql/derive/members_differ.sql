-- How many members' sums from $start to $end (the derived days of $derived_days, the loaded days of
-- fct_user_activity for the others) differ from the API's answer for those days (month_answer), in
-- active days or any metric.
with derived_days as (
    select unnest($derived_days::date[]) as date
),

member_days as (
    select * exclude (user_email, service_account_name)
    from derived_user_days
    where date between $start and $end and date in (select date from derived_days)
    union all by name
    select * exclude (user_email, service_account_name, organization)
    from fct_user_activity
    where
        organization = $organization
        and date between $start and $end
        and date not in (select date from derived_days)
),

derived as (
    select
        user_key,
        count(distinct date) as active_days,
        {{ metric_sums }}
    from member_days
    group by user_key
),

final as (
    select user_key
    from month_answer as api
    full join derived using (user_key)
    where api.active_days is distinct from derived.active_days or {{ metrics_differ }}
)

select count(*) from final
