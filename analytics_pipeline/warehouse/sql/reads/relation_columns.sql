-- The columns of one table or view (export: whether it has an organization column to filter on).
select column_name
from information_schema.columns
where table_schema = $schema and table_name = $name
