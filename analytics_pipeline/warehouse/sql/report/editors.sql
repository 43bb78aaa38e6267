select * from usage_by_editor($start, $end, organization := $organization)
