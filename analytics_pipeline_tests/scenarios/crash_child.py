"""Test-only entry: run the ``analytics-pipeline`` command, SIGKILLed by itself at a named point.

``python crash_child.py POINT N -- backfill --start .. --end ..`` patches one function of this process
so that its N-th call kills the process (SIGKILL: no cleanup, no ``finally``, no atexit) at POINT, then
runs the command as ``analytics-pipeline`` would. POINT ``none`` runs the command unpatched. The patches
live here, in a child process the test spawns, never in production code.

Points:

- ``mid_write``: after the N-th ``PartitionWriter.write`` that wrote rows, before its commit: a
  partition half written to its temporary file (and a window's other days' temporary files with it).
- ``after_commit``: after the N-th ``PartitionWriter.commit``: Parquet on disk, the warehouse not
  loaded yet.
- ``between_loads``: after the N-th ``load_partition`` returns: some fact tables of a run loaded,
  the others not.
- ``mid_transaction``: inside the N-th ``load_partition``, as it is about to commit: the day's rows
  deleted and inserted again in an open transaction.
- ``mid_staged_load``: inside the N-th ``load_partition`` of a load into a staging copy (a reader
  holds the warehouse), as it is about to commit: the staging file half written.
- ``mid_schema``: inside the N-th writer's schema transaction, as it is about to commit: the first
  writer leaves a warehouse file without any table.
- ``mid_derive``: inside the N-th derivation pass, as it is about to commit the days it accepted: their
  dau and user-activity rows written in an open transaction.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable
from typing import Any

import duckdb

from analytics_pipeline.backfill import derivation
from analytics_pipeline.cli import main
from analytics_pipeline.defs.assets import warehouse as warehouse_assets
from analytics_pipeline.landing.store import PartitionWriter
from analytics_pipeline.warehouse import Warehouse


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class _Countdown:
    """Kills the process on the n-th call of :meth:`tick`."""

    def __init__(self, n: int) -> None:
        self.left = n

    def tick(self) -> None:
        self.left -= 1
        if self.left == 0:
            _die()


class _KillingConnection:
    """A DuckDB connection that kills the process when asked to commit, on the countdown's last tick."""

    def __init__(self, con: duckdb.DuckDBPyConnection, countdown: _Countdown) -> None:
        self._con = con
        self._countdown = countdown

    def execute(self, sql: str, *args: Any) -> duckdb.DuckDBPyConnection:
        if sql == "commit":
            self._countdown.tick()
        return self._con.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)


def _patch(point: str, n: int) -> None:
    countdown = _Countdown(n)
    original_load: Callable[..., Any] = warehouse_assets.load_partition
    if point == "mid_write":
        original_write = PartitionWriter.write

        def write(self: PartitionWriter, *args: Any, **kwargs: Any) -> int:
            rows = original_write(self, *args, **kwargs)
            if rows:
                countdown.tick()
            return rows

        PartitionWriter.write = write  # type: ignore[method-assign]
    elif point == "after_commit":
        original_commit = PartitionWriter.commit

        def commit(self: PartitionWriter) -> Any:
            info = original_commit(self)
            countdown.tick()
            return info

        PartitionWriter.commit = commit  # type: ignore[method-assign]
    elif point == "between_loads":

        def load_then_count(*args: Any, **kwargs: Any) -> Any:
            result = original_load(*args, **kwargs)
            countdown.tick()
            return result

        warehouse_assets.load_partition = load_then_count
    elif point in ("mid_transaction", "mid_staged_load"):
        staged_only = point == "mid_staged_load"

        def load_killed_at_commit(con: duckdb.DuckDBPyConnection, *args: Any, **kwargs: Any) -> Any:
            if staged_only and not _is_staged(con):
                return original_load(con, *args, **kwargs)
            return original_load(_KillingConnection(con, countdown), *args, **kwargs)

        warehouse_assets.load_partition = load_killed_at_commit
    elif point == "mid_schema":
        original_prepared = Warehouse._prepared

        def prepared_killed_at_commit(con: duckdb.DuckDBPyConnection) -> Any:
            return original_prepared(_KillingConnection(con, countdown))

        Warehouse._prepared = staticmethod(prepared_killed_at_commit)  # type: ignore[method-assign]
    elif point == "mid_derive":
        original_derive = derivation.derive_days

        def derive_killed_at_commit(con: duckdb.DuckDBPyConnection, *args: Any, **kwargs: Any) -> Any:
            return original_derive(_KillingConnection(con, countdown), *args, **kwargs)

        derivation.derive_days = derive_killed_at_commit  # type: ignore[assignment]
    elif point != "none":
        raise SystemExit(f"unknown kill point {point!r}")


def _is_staged(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether the connection is to a staging copy rather than the warehouse file itself."""
    sql = "select path from duckdb_databases() where database_name = current_database()"
    path = con.execute(sql).fetchall()
    return bool(path) and os.path.basename(path[0][0]).startswith(".")


if __name__ == "__main__":
    point, n, separator, *command = sys.argv[1:]
    assert separator == "--", "usage: crash_child.py POINT N -- COMMAND..."
    _patch(point, int(n))
    main(command, prog_name="analytics-pipeline")
