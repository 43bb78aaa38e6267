-- Per column of the given tables: whether it is the organization column (a table made before
-- organisations has none that is: warehouse/schema.py migrates it). Reads the catalog only, never a
-- table's rows. No join, set operation or aggregate: their hash tables alone run out of a small writer's
-- memory (measured: an EXCEPT of the tables and their organization columns failed at 2 MiB).
select table_name, column_name = 'organization'
from duckdb_columns()
where database_name = current_database() and schema_name = 'main' and list_contains($tables, table_name)
