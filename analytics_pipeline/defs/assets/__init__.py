"""Assets by layer: raw landing (API -> Parquet), warehouse (Parquet -> DuckDB) and the report."""
