"""Assets by layer: raw landing (API -> Parquet) and warehouse (Parquet -> DuckDB)."""
