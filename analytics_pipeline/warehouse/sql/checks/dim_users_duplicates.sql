-- dim_users' unique_keys: the organisation's user_key values in more than one of its rows, and the first
-- few of them.
with keys as (
    select user_key, count(*) as copies
    from dim_users
    where organization = $organization
    group by user_key
    having count(*) > 1
)

select count(*), list(user_key order by user_key)[1:$examples]
from keys
