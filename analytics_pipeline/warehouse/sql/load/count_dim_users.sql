-- The organisation's members in dim_users.
select count(*)
from dim_users
where organization = $organization
