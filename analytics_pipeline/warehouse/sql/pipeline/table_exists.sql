-- Whether the warehouse (the connection's current database: the file, or the attached lake) has the table.
select count(*)
from duckdb_tables()
where database_name = current_database() and schema_name = 'main' and table_name = $name
