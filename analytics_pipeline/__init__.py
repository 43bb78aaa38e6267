"""analytics-pipeline: Augment Code's Analytics API into your own Parquet files and DuckDB warehouse."""

__version__ = "0.1.0"
