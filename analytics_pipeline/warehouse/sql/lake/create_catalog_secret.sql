-- The catalog's password, for the ATTACH to name (META_SECRET) instead of carrying it in its text.
-- Temporary: it lives as long as the connection, and is never written anywhere.
create or replace temporary secret analytics_lake_catalog (type postgres, password $password)
