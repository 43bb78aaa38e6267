"""Build the usage report from the warehouse and write it: what the ``report`` command and the
``usage_report`` asset share.

The warehouse is read through one read-only connection that waits while a load holds the file (so a
report made while a load runs waits seconds instead of failing); it never holds up a load. A warehouse
whose analysis layer is older than this version first gets the current one, through a writer: the one
write the report ever makes, and only then. The file is written to a hidden temporary file beside the
target, owner readable only (0600), then renamed over it: a reader sees the old report or the new one,
never half.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from analytics_pipeline.report.data import Period, check_organization, report_data, resolve_period
from analytics_pipeline.report.location import REPORT_FILE
from analytics_pipeline.report.render import render_html
from analytics_pipeline.warehouse import WarehouseDoors
from analytics_pipeline.warehouse.analysis import ensure_current_layer

__all__ = ["REPORT_FILE", "PublishedReport", "publish_report", "write_atomically"]


@dataclass(frozen=True)
class PublishedReport:
    path: Path
    period: Period
    days_loaded: int
    bytes: int
    organization: str | None = None
    """The organisation reported on; None: every organisation in the warehouse."""


def write_atomically(path: Path, text: str) -> int:
    """Write ``text`` to ``path`` (mode 0600) through a temporary file renamed over it; returns bytes."""
    payload = text.encode("utf-8")
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix="-" + path.name)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:  # mkstemp creates the file 0600
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return len(payload)


def publish_report(
    warehouse: WarehouseDoors,
    out: Path,
    *,
    start: dt.date | None = None,
    end: dt.date | None = None,
    now: dt.datetime | None = None,
    organization: str | None = None,
) -> PublishedReport:
    """Write the report for ``start..end`` (defaults: see :func:`resolve_period`) to ``out``: for one
    organisation, or (``organization`` None, the default) for every organisation in the warehouse, with
    a row per organisation when it holds more than one.

    Raises FileNotFoundError without a warehouse, ValueError (one line) for a period that cannot be
    reported or an organisation the warehouse holds nothing of, and WarehouseBusy when another process
    holds the warehouse open for writing for longer than a reader waits (:meth:`WarehouseDoors.reader`).
    """
    generated_at = now or dt.datetime.now(dt.UTC)
    ensure_current_layer(warehouse)
    with warehouse.reader(wait=True) as con:
        organization = check_organization(con, organization)
        period = resolve_period(con, start, end, organization=organization)
        data = report_data(con, period, generated_at=generated_at, organization=organization)
    size = write_atomically(Path(out), render_html(data))
    return PublishedReport(Path(out), period, data.period.days_loaded, size, organization)
