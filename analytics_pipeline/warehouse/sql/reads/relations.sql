-- Every table and view a user may export, by schema and name, in the warehouse (the connection's
-- current database: the file, or the attached lake, never the empty in-memory database beside it).
select schema_name, table_name as name from duckdb_tables() where not internal and database_name = current_database()
union all
select schema_name, view_name as name from duckdb_views() where not internal and database_name = current_database()
order by all
