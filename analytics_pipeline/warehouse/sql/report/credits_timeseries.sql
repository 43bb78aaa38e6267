select * from credits_timeseries($grain, $start, $end, organization := $organization)
