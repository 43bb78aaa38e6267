select count(*)
from duckdb_tables()
where schema_name = 'main' and table_name = $name
