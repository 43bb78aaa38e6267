-- A warehouse made before days were derived: every partition it holds was the API's answer, so 'api'
-- fills its rows. Run after the organisation's migration (schema.py): on a DuckLake, an added column
-- and a table set aside in one transaction confuse the catalog.
alter table pipeline_partitions add column if not exists source varchar default 'api';
