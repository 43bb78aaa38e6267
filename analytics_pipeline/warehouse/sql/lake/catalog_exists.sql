-- PostgreSQL (run with psycopg2 on the catalog database): whether it holds a DuckLake yet.
select exists (
    select 1
    from information_schema.tables
    where table_schema = current_schema() and table_name = 'ducklake_metadata'
)
