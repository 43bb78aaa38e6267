"""More memory for the work a writer's cap is too small for, instead of a failed load.

Writers run under a small memory cap (see :data:`~analytics_pipeline.warehouse.connection.WRITER_CONFIG`).
DuckDB spills most work to disk beneath it, but not all of it: an aggregate's states over strings must
fit in memory, so rebuilding ``dim_users`` (``any_value`` of each user's email) fails at 24 MB for
100,000 users (measured; 50,000 pass), and a commit writes a transaction's appended rows within the
cap too. Rather than size the cap for the largest organisation and spend that memory in every
backfill, the work runs under the cap and, when DuckDB runs out of it, again with four times as much,
up to :data:`CEILING_BYTES`.

The work runs again on a new connection, never on the one that ran out: DuckDB 2.0 does not fully undo
a commit that fails, and rows appended on the same connection afterwards are stored wrong (measured:
100,000 rows inserted after a failed commit of the same rows read back with 87,712 values that are not
the ones inserted; duckdb/duckdb#25821 and #25898 fix parts of that undo). A new connection starts from
what the file holds. A commit may also start a checkpoint that runs out: DuckDB 2.0 reported that as
fatal and kept the file as it was before the commit, DuckDB 1.5 as a failed commit (both measured), so
that work too runs again on a new connection; so does a writer's checkpoint at its end (see
``Warehouse.writer``). So the work must be safe to run again from the start: each of its transactions
replaces what it writes (every load does), or it is one transaction. The raised cap lasts as long as
that connection.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import duckdb

from analytics_pipeline.warehouse.duckdb_errors import is_out_of_memory
from analytics_pipeline.warehouse.sql import read_sql, scalar

if TYPE_CHECKING:
    from analytics_pipeline.warehouse.location import WarehouseDoors

T = TypeVar("T")

GROWTH = 4
CEILING_BYTES = 4 * 1024**3
"""The most a retried piece of work may have; beyond it, running out of memory is an error to report."""

_UNITS = {"bytes": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "TiB": 1024**4, "PiB": 1024**5}
_SETTING = re.compile(r"^(?P<number>[\d.]+) ?(?P<unit>bytes|[KMGTP]iB)$")

log = logging.getLogger(__name__)


def memory_limit_bytes(con: duckdb.DuckDBPyConnection) -> int | None:
    """The connection's memory cap in bytes (DuckDB shows it rounded, as ``22.8 MiB``), or None."""
    setting = scalar(con, read_sql("reads/memory_limit"))
    match = _SETTING.match(str(setting).strip())
    if match is None:
        return None
    return int(float(match["number"]) * _UNITS[match["unit"]])


def write_with_headroom(
    warehouse: WarehouseDoors,
    work: Callable[[duckdb.DuckDBPyConnection], T],
    what: str,
    *,
    memory_limit: str | None = None,
) -> T:
    """``work(con)`` on a writer, run again on a new writer with a larger cap each time DuckDB runs out.

    ``memory_limit`` is the first writer's cap (the writers' own by default).
    """
    limit = memory_limit
    while True:
        cap = None  # stays None when the writer could not even open
        try:
            with warehouse.writer(memory_limit=limit) as con:
                cap = memory_limit_bytes(con)
                return work(con)
        except duckdb.Error as exc:
            if not is_out_of_memory(exc) or cap is None or cap >= CEILING_BYTES:
                raise
            raised = min(cap * GROWTH, CEILING_BYTES)
            log.warning(
                "%s needed more than the writer's %d MiB; running it again with %d MiB",
                what,
                cap // 1024**2,
                raised // 1024**2,
            )
            limit = f"{raised} bytes"
