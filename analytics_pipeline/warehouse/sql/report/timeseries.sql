select * from usage_timeseries($grain, $start, $end, organization := $organization)
