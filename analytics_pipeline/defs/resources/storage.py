"""Where landed data and the warehouse live."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field

from analytics_pipeline.config.paths import DataPaths
from analytics_pipeline.config.raw_url import RAW_URL, RawLocation, raw_location
from analytics_pipeline.config.settings import DEFAULT_DATA_DIR, environment
from analytics_pipeline.landing.store import RawStore
from analytics_pipeline.provisional import DEFAULT_RECHECK_DAYS
from analytics_pipeline.warehouse.connection import Warehouse


class StorageResource(dg.ConfigurableResource):
    """The data directory (``warehouse.duckdb``, ``reports/usage.html``) and the raw store: ``raw/`` in
    it, or ``raw_url``."""

    data_dir: str = str(DEFAULT_DATA_DIR)
    raw_url: str = Field(
        default="",
        description=(
            "Where raw partitions land: a path or s3://bucket/prefix (credentials from the AWS variables "
            "of the process that runs, never from this configuration); empty: raw/ in the data directory."
        ),
    )
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

    def raw_location(self) -> RawLocation:
        """Where raw partitions land; for S3, with the AWS settings of this process's environment."""
        return raw_location({**environment(), RAW_URL: self.raw_url}, self.root)

    def raw_store(self) -> RawStore:
        """The landed partitions."""
        return RawStore.at(self.raw_location())

    def warehouse(self) -> Warehouse:
        """The DuckDB warehouse, its connections able to read the raw store."""
        return Warehouse(self.paths.warehouse, prepare=self.raw_store().prepare_duckdb)

    def report_path(self) -> Path:
        """Where the usage report is written."""
        return self.paths.report
