-- The members who consumed the most credits (credits_by_user's order).
select *
from credits_by_user($start, $end, organization := $organization) as c
where c.credits_consumed > 0
limit $limit
