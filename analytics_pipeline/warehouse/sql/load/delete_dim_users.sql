-- dim_users is rebuilt one organisation at a time (dim_users.sql): its rows go first, no other's.
delete from dim_users
where organization = $organization
