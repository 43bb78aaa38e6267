select * from usage_timeseries($grain, $start, $end)
