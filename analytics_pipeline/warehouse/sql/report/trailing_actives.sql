select * from active_users_trailing($start, $end, organization := $organization)
