"""Where landed data and the warehouse live."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from pydantic import Field

from analytics_pipeline.config.paths import DataPaths
from analytics_pipeline.config.raw_url import RAW_URL, RawLocation, raw_location
from analytics_pipeline.config.settings import DEFAULT_DATA_DIR, environment
from analytics_pipeline.config.warehouse_url import parse_warehouse_url
from analytics_pipeline.landing.store import RawStore
from analytics_pipeline.organization import DEFAULT_ORGANIZATION
from analytics_pipeline.provisional import DEFAULT_RECHECK_DAYS
from analytics_pipeline.warehouse.location import WarehouseDoors, open_warehouse


class StorageResource(dg.ConfigurableResource):
    """The data directory (``warehouse.duckdb``, ``reports/usage.html``), the raw store (``raw/`` in it, or
    ``raw_url``), and the warehouse: the file, or a DuckLake."""

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
    warehouse_url: str | None = Field(
        default=None,
        repr=False,
        description="ducklake:postgres:<libpq string>: the warehouse as a DuckLake (it holds a password: "
        "give it as EnvVar('ANALYTICS_WAREHOUSE_URL'), never as a value); unset: warehouse.duckdb.",
    )
    lake_data_path: str | None = Field(
        default=None, description="Where the DuckLake writes its Parquet files: a shared directory or s3://."
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

    def raw_store(self, organization: str = DEFAULT_ORGANIZATION) -> RawStore:
        """The organisation's landed partitions."""
        return RawStore.at(self.raw_location()).of_organization(organization)

    def warehouse(self) -> WarehouseDoors:
        """The warehouse (the DuckLake when one is configured, else the data directory's file), its
        connections able to read the raw store."""
        url = self.warehouse_url
        if isinstance(url, dg.EnvVar):  # not resolved by Dagster: built for the backfill command
            url = url.get_value()
        lake = parse_warehouse_url(url, self.lake_data_path)
        return open_warehouse(self.root, lake, prepare=self.raw_store().prepare_duckdb)

    def report_path(self, organization: str | None = None) -> Path:
        """Where the usage report of every organisation is written, or ``organization``'s alone."""
        return self.paths.report if organization is None else self.paths.organization_report(organization)
