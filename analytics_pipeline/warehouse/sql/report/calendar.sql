select * from analysis_calendar($start, $end, organization := $organization)
