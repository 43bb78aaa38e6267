-- Every column of the current database's tables in schema main, in order, with its comment
-- (warehouse/table_schemas.py: the column schemas the Dagster UI shows).
select table_name, column_name, data_type, comment
from duckdb_columns()
where database_name = current_database() and schema_name = 'main'
    and table_name in (select table_name from duckdb_tables() where database_name = current_database())
order by table_name, column_index
