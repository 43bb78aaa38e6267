"""More memory for the work a writer's cap is too small for, instead of a failed load.

Writers run under a small memory cap (see :data:`~analytics_pipeline.warehouse.connection.WRITER_CONFIG`).
DuckDB spills most work to disk beneath it, but not all of it: an aggregate's states over strings must
fit in memory, so rebuilding ``dim_users`` (``any_value`` of each user's email) fails at 24 MB for
100,000 users (measured; 50,000 pass). Rather than size the cap for the largest organisation and spend
that memory in every backfill, the work runs under the cap and, when DuckDB runs out of it, again with
four times as much, up to :data:`CEILING_BYTES`. The work must be one transaction that rolls back when
it fails, so running it again starts from the same state. The raised cap lasts as long as the
connection: one asset's load.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TypeVar

import duckdb

from analytics_pipeline.warehouse.sql import scalar

T = TypeVar("T")

GROWTH = 4
CEILING_BYTES = 4 * 1024**3
"""The most a retried statement may have; beyond it, running out of memory is an error to report."""

_UNITS = {"bytes": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "TiB": 1024**4, "PiB": 1024**5}
_SETTING = re.compile(r"^(?P<number>[\d.]+) ?(?P<unit>bytes|[KMGTP]iB)$")

log = logging.getLogger(__name__)


def memory_limit_bytes(con: duckdb.DuckDBPyConnection) -> int | None:
    """The connection's memory cap in bytes (DuckDB shows it rounded, as ``22.8 MiB``), or None."""
    setting = scalar(con, "select current_setting('memory_limit')")
    match = _SETTING.match(str(setting).strip())
    if match is None:
        return None
    return int(float(match["number"]) * _UNITS[match["unit"]])


def with_headroom(con: duckdb.DuckDBPyConnection, work: Callable[[], T], what: str) -> T:
    """``work()``, run again under a larger cap each time DuckDB runs out of memory, up to the ceiling."""
    while True:
        try:
            return work()
        except duckdb.OutOfMemoryException:
            limit = memory_limit_bytes(con)
            if limit is None or limit >= CEILING_BYTES:
                raise
            raised = min(limit * GROWTH, CEILING_BYTES)
            log.warning(
                "%s needed more than the writer's %d MiB; running it again with %d MiB",
                what,
                limit // 1024**2,
                raised // 1024**2,
            )
            con.execute("set memory_limit = $limit", {"limit": f"{raised} bytes"})
