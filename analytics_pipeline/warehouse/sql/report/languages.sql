select * from usage_by_language($start, $end, organization := $organization)
