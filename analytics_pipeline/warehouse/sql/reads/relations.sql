-- Every table and view a user may export, by schema and name.
select schema_name, table_name as name from duckdb_tables() where not internal
union all
select schema_name, view_name as name from duckdb_views() where not internal
order by all
