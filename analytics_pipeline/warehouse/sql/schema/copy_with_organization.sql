-- The rows of a DuckLake's table set aside (set_aside_for_organization.sql), as $organization's.
insert into {{ table }} by name
select *, $organization as organization
from {{ old_table }}
