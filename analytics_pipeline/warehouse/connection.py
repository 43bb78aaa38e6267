"""Connections to ``warehouse.duckdb``: one writer at a time, readers read-only.

DuckDB lets one process at a time open a database file for writing. Pipeline writers therefore queue
on a file lock beside the database (so several Dagster runs finishing at once wait their turn instead
of failing), and the connection is held only for the length of a load. A process outside the pipeline
holding the file (an analyst's shell) is waited for, within a bound, then reported in one line.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import duckdb
from filelock import FileLock, Timeout

from analytics_pipeline.warehouse.analysis import install_analysis
from analytics_pipeline.warehouse.sql import read_sql


WRITER_CONFIG = {"memory_limit": "128MB", "threads": "2"}
"""DuckDB caches what it scans up to 80% of RAM by default, so a long backfill's loads would grow with
the warehouse; capped, DuckDB evicts and spills instead. Loads are per day and need little."""


class WarehouseBusy(RuntimeError):
    """The warehouse could not be opened for writing within the time allowed."""


class Warehouse:
    """The DuckDB warehouse file and the way to open it."""

    def __init__(
        self,
        path: Path,
        *,
        lock_timeout: float = 900.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.path = Path(path)
        self.lock_timeout = lock_timeout
        self._sleep = sleep

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    def _connect_writable(self, deadline: float) -> duckdb.DuckDBPyConnection:
        delay = 0.05
        while True:
            try:
                return duckdb.connect(str(self.path), config=WRITER_CONFIG)
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() >= deadline:
                    raise WarehouseBusy(
                        f"{self.path} is open in another process; close that connection "
                        "(e.g. a duckdb shell) and run again"
                    ) from exc
                self._sleep(delay)
                delay = min(delay * 2, 2.0)

    @contextmanager
    def _write_lock(self) -> Iterator[None]:
        """The pipeline writers' turn: held while a writer (or a waiting reader) has the file open."""
        lock = FileLock(self.lock_path, mode=0o600)
        try:
            lock.acquire(timeout=self.lock_timeout)
        except Timeout:
            raise WarehouseBusy(
                f"another pipeline run has held {self.path} for over {self.lock_timeout:.0f}s; "
                "wait for it to finish, then run again"
            ) from None
        try:
            yield
        finally:
            lock.release()

    @contextmanager
    def writer(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection with the schema in place, held by this process alone."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        deadline = time.monotonic() + self.lock_timeout
        with self._write_lock():
            con = self._connect_writable(deadline)
            try:
                self.path.chmod(0o600)
                con.execute(read_sql("schema"))
                install_analysis(con)
                yield con
            finally:
                con.close()

    @contextmanager
    def reader(self, *, wait_for_writers: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection (fails if the warehouse does not exist yet).

        DuckDB lets no other process open a file that one process has open for writing, so a reader
        that must not fail while the pipeline loads (the report, say) passes ``wait_for_writers``:
        it then takes the writers' turn and holds it while it reads.
        """
        if not self.path.is_file():
            raise FileNotFoundError(
                f"no warehouse at {self.path}; run `analytics-pipeline demo` or a backfill first"
            )
        with self._write_lock() if wait_for_writers else nullcontext():
            con = duckdb.connect(str(self.path), read_only=True)
            try:
                yield con
            finally:
                con.close()
