"""Where landed data and the warehouse live."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field

from analytics_pipeline.config.paths import DataPaths
from analytics_pipeline.config.settings import DEFAULT_DATA_DIR
from analytics_pipeline.landing.store import RawStore
from analytics_pipeline.provisional import DEFAULT_RECHECK_DAYS
from analytics_pipeline.warehouse.connection import Warehouse


class StorageResource(dg.ConfigurableResource):
    """The data directory: raw Parquet under ``raw/``, ``warehouse.duckdb`` and ``reports/usage.html``."""

    data_dir: str = str(DEFAULT_DATA_DIR)
    recheck_days: int = Field(
        default=DEFAULT_RECHECK_DAYS,
        description="Days after its publication that a day stays provisional and is re-checked nightly.",
    )

    @property
    def root(self) -> Path:
        """The data directory."""
        return Path(self.data_dir)

    @property
    def paths(self) -> DataPaths:
        """The data directory's files and folders."""
        return DataPaths(self.root)

    def raw_store(self) -> RawStore:
        """The landed partitions."""
        return RawStore(self.paths.raw)

    def warehouse(self) -> Warehouse:
        """The DuckDB warehouse."""
        return Warehouse(self.paths.warehouse)

    def report_path(self) -> Path:
        """Where the usage report is written."""
        return self.paths.report
