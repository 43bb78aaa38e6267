"""The data directory's layout: every file and folder the pipeline keeps at its top, named once.

``ANALYTICS_DATA_DIR`` holds::

    raw/                  landed Parquet partitions (the raw store)
    warehouse.duckdb      the warehouse (with its .wal and .lock beside it)
    reports/usage.html    the usage report (every organisation)
    reports/<org>/usage.html  one organisation's, when there are several
    .state/               the rate limiter's shared state
    .emails               whether emails are plain or pseudonymised (config/datadir.py)
    .source               which API and token the data came from (config/datadir.py); another
                          organisation than ``default``'s in ``.source.<organization>``
    .sandbox-data         present when the data is the demo's synthetic data (config/datadir.py)

Nothing here touches the file system: :class:`DataPaths` only names the paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from analytics_pipeline.organization import DEFAULT_ORGANIZATION

RAW_DIR = "raw"
WAREHOUSE_FILE = "warehouse.duckdb"
REPORTS_DIR = "reports"
REPORT_FILE = Path(REPORTS_DIR) / "usage.html"
"""The usage report, relative to the data directory."""
STATE_DIR = ".state"
EMAILS_MARKER = ".emails"
SOURCE_MARKER = ".source"
SANDBOX_MARKER = ".sandbox-data"


@dataclass(frozen=True)
class DataPaths:
    """The paths of one data directory's files and folders (see the module for the layout)."""

    root: Path

    @property
    def raw(self) -> Path:
        """The raw store's root: landed partitions."""
        return self.root / RAW_DIR

    @property
    def warehouse(self) -> Path:
        """The DuckDB warehouse file."""
        return self.root / WAREHOUSE_FILE

    @property
    def reports(self) -> Path:
        """The folder the usage report is written to."""
        return self.root / REPORTS_DIR

    @property
    def report(self) -> Path:
        """The usage report."""
        return self.root / REPORT_FILE

    def organization_report(self, organization: str) -> Path:
        """One organisation's usage report."""
        return self.reports / organization / REPORT_FILE.name

    @property
    def state(self) -> Path:
        """The rate limiter's shared state."""
        return self.root / STATE_DIR

    @property
    def emails_marker(self) -> Path:
        """Records whether the directory's emails are plain or pseudonymised (and with which key)."""
        return self.root / EMAILS_MARKER

    def source_marker(self, organization: str = DEFAULT_ORGANIZATION) -> Path:
        """Records which API, and which token, the organisation's data came from."""
        if organization == DEFAULT_ORGANIZATION:
            return self.root / SOURCE_MARKER
        return self.root / f"{SOURCE_MARKER}.{organization}"

    @property
    def sandbox_marker(self) -> Path:
        """Present when the directory holds the demo's synthetic data."""
        return self.root / SANDBOX_MARKER
