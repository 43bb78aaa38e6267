"""Where landed data and the warehouse live."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field

from analytics_pipeline.landing.store import RawStore
from analytics_pipeline.late_data.provisional import DEFAULT_RECHECK_DAYS
from analytics_pipeline.report.location import REPORT_FILE
from analytics_pipeline.warehouse.connection import Warehouse


class StorageResource(dg.ConfigurableResource):
    """The data directory: raw Parquet under ``raw/``, ``warehouse.duckdb`` and ``reports/usage.html``."""

    data_dir: str = "data"
    recheck_days: int = Field(
        default=DEFAULT_RECHECK_DAYS,
        description="Days after its publication that a day stays provisional and is re-checked nightly.",
    )

    @property
    def root(self) -> Path:
        return Path(self.data_dir)

    def raw_store(self) -> RawStore:
        return RawStore(self.root / "raw")

    def warehouse(self) -> Warehouse:
        return Warehouse(self.root / "warehouse.duckdb")

    def report_path(self) -> Path:
        return self.root / REPORT_FILE
