select count(*)
from dim_users
