select * from usage_by_surface($start, $end, organization := $organization)
