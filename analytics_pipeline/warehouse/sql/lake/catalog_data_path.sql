-- PostgreSQL (run with psycopg2 on the catalog database): the data path the DuckLake was created with.
select value
from ducklake_metadata
where key = 'data_path' and scope is null
