select * from credits_by_model($start, $end, organization := $organization)
