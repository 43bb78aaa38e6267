select * from usage_summary($start, $end, organization := $organization)
