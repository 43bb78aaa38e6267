-- The period per organisation (usage_summary's columns, over the same days, so they add up to it).
select * from usage_by_organization($start, $end, organization := $organization)
