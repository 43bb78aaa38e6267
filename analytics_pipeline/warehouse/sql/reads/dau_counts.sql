-- The active users of each day of a range the warehouse holds.
select date, user_count
from fct_dau_count
where date between $start and $end
