"""The DuckDB warehouse (a file, or a DuckLake): schema, per-partition loads and the SQL behind them."""

from analytics_pipeline.warehouse.connection import Warehouse, WarehouseBusy, WarehouseUnreadable
from analytics_pipeline.warehouse.lake import LakeUnreachable, LakeWarehouse
from analytics_pipeline.warehouse.load import (
    LoadResult,
    MissingPartition,
    confirm_partition,
    derived_partitions,
    load_partition,
    loaded_digests,
    record_recheck,
    refresh_dim_users,
)
from analytics_pipeline.warehouse.location import WarehouseDoors, open_warehouse

__all__ = [
    "LakeUnreachable",
    "LakeWarehouse",
    "LoadResult",
    "MissingPartition",
    "Warehouse",
    "WarehouseBusy",
    "WarehouseDoors",
    "WarehouseUnreadable",
    "confirm_partition",
    "derived_partitions",
    "load_partition",
    "loaded_digests",
    "open_warehouse",
    "record_recheck",
    "refresh_dim_users",
]
