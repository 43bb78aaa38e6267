-- The members who modified the most lines of code (ties: by user_key).
select *
from usage_by_user($start, $end, organization := $organization) as u
where u.total_modified_lines_of_code > 0
order by u.total_modified_lines_of_code desc, u.user_key, u.organization
limit $limit
