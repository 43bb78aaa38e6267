-- The organisation's active users of each day of a range the warehouse holds.
select date, user_count
from fct_dau_count
where organization = $organization and date between $start and $end
