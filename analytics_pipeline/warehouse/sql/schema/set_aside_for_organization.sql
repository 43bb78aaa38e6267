-- A DuckLake's table made before organisations, renamed for copy_with_organization.sql: DuckLake 1.5.5
-- adds the column, but refuses SET NOT NULL on it ("no column stats are available", always on an empty
-- table), so the table is made again by tables.sql, NOT NULL column and all, and its rows copied in.
alter table {{ table }} rename to {{ old_table }}
