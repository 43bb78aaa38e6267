-- The first and the last loaded day of the organisation, or (organisation NULL) of every organisation:
-- a day every organisation present in the warehouse has loaded (the rule of analysis_calendar).
with scope as (
    select o.organization
    from analysis_organizations(organization := $organization) as o
),

per_day as (
    select a.date, count(*) as organizations_loaded
    from analysis_days as a
    inner join scope as s on s.organization = a.organization
    where a.loaded
    group by a.date
),

final as (
    select p.date
    from per_day as p
    where p.organizations_loaded = (select count(*) from scope)
)

select min(f.date), max(f.date)
from final as f
