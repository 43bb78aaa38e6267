"""analytics-pipeline: Augment Code's Analytics API into your own Parquet files and DuckDB warehouse."""

from analytics_pipeline.runtime.allocators import prefer_returning_allocators

# Before any module of the package imports pyarrow or duckdb: they read these settings when they load.
prefer_returning_allocators()

__version__ = "0.1.0"
