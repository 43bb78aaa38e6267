"""The DuckDB warehouse: schema, per-partition loads and the SQL behind them."""

from analytics_pipeline.warehouse.connection import Warehouse, WarehouseBusy, WarehouseUnreadable
from analytics_pipeline.warehouse.load import (
    LoadResult,
    MissingPartition,
    confirm_partition,
    load_partition,
    loaded_digests,
    record_recheck,
    refresh_dim_users,
)

__all__ = [
    "LoadResult",
    "MissingPartition",
    "Warehouse",
    "WarehouseBusy",
    "WarehouseUnreadable",
    "confirm_partition",
    "load_partition",
    "loaded_digests",
    "record_recheck",
    "refresh_dim_users",
]
