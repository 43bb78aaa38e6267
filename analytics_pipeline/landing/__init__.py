"""API records -> Parquet partitions under ``data/raw/``."""

from analytics_pipeline.landing.arrow_rows import RAW_JSON, RecordError, arrow_schema
from analytics_pipeline.landing.land import Lander, LandingResult, month_is_current, partition_keys
from analytics_pipeline.landing.store import DamagedPartition, PartitionInfo, PartitionWriter, RawStore

__all__ = [
    "RAW_JSON",
    "DamagedPartition",
    "Lander",
    "LandingResult",
    "PartitionInfo",
    "PartitionWriter",
    "RawStore",
    "RecordError",
    "arrow_schema",
    "month_is_current",
    "partition_keys",
]
