"""Connections to ``warehouse.duckdb``: one pipeline writer at a time, and readers never break a load.

There are two doors, and only two: :meth:`Warehouse.reader` and :meth:`Warehouse.writer`. Nothing else
in the package opens the warehouse file, so where a connection may wait, and what it raises when it
cannot open, is decided here. A DuckLake warehouse has the same doors (``warehouse.lake``), and
``warehouse.location.open_warehouse`` chooses between them: callers ask for a reader or a writer,
never for a file.

DuckDB lets one process open a database file read-write, or any number of processes open it read-only
(a read-write connection takes an exclusive ``fcntl`` lock on the file, a read-only one a shared lock).
Within one process DuckDB shares one database per file, and refuses at once a read-only connection
while this process has a writer open (or the reverse): both doors take that as they take another
process holding the file read-write, and wait for it or report it.

- Pipeline writers queue on a file lock beside the database (``warehouse.duckdb.lock``), so several
  Dagster runs finishing at once take turns instead of failing, and hold the connection for one load.
- When no other process has the file open, the writer opens it directly.
- When other processes have it open read-only (an analyst's ``duckdb -readonly`` shell, an export, a BI
  tool), the writer loads a *staging copy*: the file (and its WAL, if a crash left one) copied to a
  hidden temporary file beside it, loaded, checkpointed, flushed to disk, and renamed over the original.
  Readers keep the snapshot they opened; connections opened after the rename see the new data. From
  before the copy until the rename the writer holds a shared lock on the original, so no read-write
  connection can open it meanwhile and write what the rename would discard.
- A process holding the file read-write (a plain ``duckdb data/warehouse.duckdb`` shell) is not
  published under: its changes may sit in ``warehouse.duckdb.wal``, which DuckDB finds by name and
  refuses to replay into another file. It is waited for, within a bound, then reported in one line that
  names the process and the fix.
- Readers never take the writers' turn. A reader is refused only while a connection holds the file
  read-write (a load that found no reader there, or a ``duckdb`` shell): it then raises
  :class:`WarehouseBusy` naming the holder, or, asked to wait, tries again with backoff, within a bound.

A crash leaves at most a hidden staging file, removed by the next writer; a crash in the middle of
publishing (after the rename, before the old WAL is removed) is finished by the next writer too.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import duckdb
from filelock import FileLock, Timeout

from analytics_pipeline.errors import FIX_INPUT, PipelineError
from analytics_pipeline.runtime.durability import fsync_path
from analytics_pipeline.warehouse.analysis import install_analysis
from analytics_pipeline.warehouse.duckdb_errors import holder, is_held_elsewhere, is_held_in_this_process
from analytics_pipeline.warehouse.schema import create_schema
from analytics_pipeline.warehouse.sql import read_sql

WRITER_CONFIG = {
    "memory_limit": "24MB",
    "threads": "1",
    "write_buffer_row_group_count": "1",
    "allocator_flush_threshold": "8MB",
    "allocator_background_threads": "true",
}
"""DuckDB caches what it scans up to 80% of RAM by default, so a long backfill's loads would grow with
the warehouse; capped, DuckDB evicts and spills instead. The cap also bounds the checkpoint when a
writer closes, which rewrites the row groups a run's loads touched: measured on a 2-year, 2,000-person
warehouse after 30 days of editor-language loads, +46 MB at 64 MB, +8 MB at 24 MB (+4 MB at 16 MB, but
a third slower). Loads are per day and need little, and they run beside the fetching threads, so one
thread is enough. An insert buffers five row groups before it writes them by default: one is plenty
for a day's rows, and the buffer was most of a load's peak (measured: 197 MB against 149 MB for a
month's detail loads). DuckDB's allocator keeps freed memory for reuse up to 128 MB after a query
unless told to flush sooner; its background threads return the rest."""

_COPY_CHUNK = 1 << 20
_FIRST_RETRY = 0.05
_WRITER_MAX_RETRY = 2.0
_READER_MAX_RETRY = 0.25
"""A backfill holds the file for one load at a time, and opens it again within a second or so: a reader
that tried less often would keep missing the gaps."""


class WarehouseBusy(PipelineError, RuntimeError):
    """The warehouse could not be opened for writing within the time allowed."""

    transient = True  # the other process lets go of it


class WarehouseUnreadable(PipelineError, RuntimeError):
    """The warehouse file is not a database DuckDB can open: damaged, truncated, or another kind of file."""

    exit_code = FIX_INPUT  # the message says how to rebuild it


class WarehouseFromNewerDuckDB(WarehouseUnreadable):
    """The warehouse file was written by a newer DuckDB than this release's (its storage version is newer).

    Nothing of it is lost: the landed raw partitions hold every day it held, and ``analytics-pipeline
    rebuild`` moves the file aside (kept) and loads them into a new one (see ``warehouse/rebuild.py``).
    """

    def __init__(self, message: str, storage_version: str) -> None:
        super().__init__(message)
        self.storage_version = storage_version


_NEWER_STORAGE = re.compile(r"database file with version number (?P<version>\d+)")


def _connect(
    path: Path, *, read_only: bool = False, config: dict[str, str] | None = None
) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect``, with a file DuckDB cannot read reported as :class:`WarehouseUnreadable`.

    A file held by another connection is raised as DuckDB raises it: the doors wait for, or report, the
    holder (:func:`~analytics_pipeline.warehouse.duckdb_errors.is_held_elsewhere`).
    """
    settings: dict[str, str | bool | int | float | list[str]] = dict(config or {})
    memory_limit = config.get("memory_limit") if config else None
    settings.pop("memory_limit", None)
    try:
        con = duckdb.connect(str(path), read_only=read_only, config=settings)
    except duckdb.Error as exc:
        if is_held_elsewhere(exc):
            raise
        newer = _NEWER_STORAGE.search(str(exc))
        if newer and "newer version of DuckDB" in str(exc):
            raise WarehouseFromNewerDuckDB(_newer_message(path), newer["version"]) from None
        raise WarehouseUnreadable(_unreadable_message(path, exc)) from None
    if memory_limit is not None:
        # Set once open, not at connect: DuckDB 1.5 replays a WAL a crash left within the connection's
        # cap, and a load's cap is too small for that (measured: 8 MiB fails on a 256 KiB block).
        con.execute(read_sql("reads/set_memory_limit"), {"limit": memory_limit})
    return con


def _newer_message(path: Path) -> str:
    return (
        f"{path} was written by a newer DuckDB than this release's {duckdb.__version__}; run "
        "`analytics-pipeline rebuild`: it moves the file aside (kept) and loads the warehouse again from "
        "the landed raw partitions, without a request"
    )


def _unreadable_message(path: Path, exc: duckdb.Error) -> str:
    lines = str(exc).strip().splitlines() or [type(exc).__name__]
    why = lines[0].removeprefix("IO Error: ").strip()
    if "permission denied" in why.lower():
        return f"{path} cannot be opened: permission denied; give this user read and write access to it"
    return (
        f"{path} is not a warehouse DuckDB can open ({why}); move it aside (`mv {path} {path}.broken`) "
        "and run `analytics-pipeline backfill` again over the days it held: it reloads them from the "
        "landed raw partitions without fetching them again"
    )


def _copy(source: BinaryIO, target: Path) -> None:
    """``source`` (already open: see :meth:`Warehouse._hold_shared`) into a new file of mode 0600."""
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        source.seek(0)
        shutil.copyfileobj(source, out, _COPY_CHUNK)


class Warehouse:
    """The DuckDB warehouse file and the way to open it."""

    def __init__(
        self,
        path: Path,
        *,
        lock_timeout: float = 900.0,
        holder_timeout: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        prepare: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.prepare = prepare
        """Called on each writer connection before it is handed out: what else a load needs on it (the
        raw store's ``prepare_duckdb``, so loads can read raw partitions on S3)."""
        self.lock_timeout = lock_timeout
        """Seconds to wait for the pipeline's other writers (they hold the file for one load each)."""
        self.holder_timeout = holder_timeout
        """Seconds a writer, or a reader asked to wait, waits for a read-write holder to close the file."""
        self._sleep = sleep

    @property
    def description(self) -> str:
        """Where the warehouse is, for messages."""
        return str(self.path)

    @property
    def read_only_shell(self) -> str:
        """How to read the warehouse at a SQL prompt while loads go on (the package installs no ``duckdb``
        shell; its own ``sql`` command opens the warehouse read-only, with the macros)."""
        return "`analytics-pipeline sql`"

    def exists(self) -> bool:
        """Whether the warehouse file is there (a first writer creates it)."""
        return self.path.is_file()

    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    @property
    def wal_path(self) -> Path:
        return self.path.with_name(self.path.name + ".wal")

    @property
    def _publish_marker(self) -> Path:
        return self.path.with_name(f".{self.path.name}.publishing")

    @contextmanager
    def _write_lock(self) -> Iterator[None]:
        """The pipeline writers' turn: held while a writer has the file (readers never take it)."""
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

    def verify(self) -> None:
        """Raise :class:`WarehouseUnreadable` now if the file is there but DuckDB cannot open it.

        For commands that would otherwise fetch for minutes and only then fail to load. A file held
        read-write by another process cannot be opened to check, and is left to the loads to wait for.
        """
        if not self.path.is_file():
            return
        try:
            with self.reader():
                pass
        except WarehouseBusy:
            pass

    def move_aside(self, storage_version: str) -> Path:
        """Rename the warehouse file (and its WAL) to ``<name>.from-duckdb-<storage_version>``, taking the
        writers' turn; the new name (a number is added if it is taken)."""
        with self._write_lock():
            target = self.path.with_name(f"{self.path.name}.from-duckdb-{storage_version}")
            number = 1
            while target.exists():
                number += 1
                target = self.path.with_name(f"{self.path.name}.from-duckdb-{storage_version}.{number}")
            os.replace(self.path, target)
            if self.wal_path.exists():
                os.replace(self.wal_path, target.with_name(target.name + ".wal"))
            fsync_path(self.path.parent)
            return target

    def recover(self) -> None:
        """Finish what killed writers left (an interrupted publish, staging copies), taking the writers'
        turn; every writer does this first, and a run that may open none (a resumed backfill with
        nothing left to fetch) calls it itself."""
        if not self.path.parent.is_dir() or not any(self.path.parent.glob(f".{self.path.name}.*")):
            return  # no staging copy, no publish marker: nothing to finish (and no lock file made)
        with self._write_lock():
            self._recover()

    @contextmanager
    def writer(self, *, memory_limit: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection with the schema in place, held by this process alone.

        What it writes is in the warehouse file when the block ends without an exception (directly, or
        by publishing a staging copy when readers hold the file). ``memory_limit`` replaces the writers'
        cap for work known to need less (or more).
        """
        config = WRITER_CONFIG if memory_limit is None else {**WRITER_CONFIG, "memory_limit": memory_limit}
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with self._write_lock():
            self._recover()
            con, readers = self._connect_or_wait(config)
            if readers is None:
                assert con is not None
                try:
                    self.path.chmod(0o600)
                    yield self._ready(con)
                    # Explicitly, not left to close: DuckDB 1.5 skips a checkpoint at close that runs out
                    # of the cap without a word, and the WAL then grows with every load (and each open
                    # replays it). Raised here, running out is retried with more (warehouse/headroom.py).
                    con.execute("checkpoint")
                finally:
                    con.close()
            else:
                with readers, self._staged(readers, config) as staged:
                    yield self._ready(staged)

    def _ready(self, con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
        """``con`` prepared (:meth:`_prepared`), then given what else loads need (:attr:`prepare`)."""
        con = self._prepared(con)
        if self.prepare is not None:
            self.prepare(con)
        return con

    @staticmethod
    def _prepared(con: duckdb.DuckDBPyConnection) -> duckdb.DuckDBPyConnection:
        create_schema(con, lake=False)
        install_analysis(con)
        return con

    def _connect_or_wait(
        self, config: dict[str, str]
    ) -> tuple[duckdb.DuckDBPyConnection | None, BinaryIO | None]:
        """The file opened read-write, or, when only other processes' readers hold it, a shared lock on it.

        A read-write holder is waited for, up to ``holder_timeout``; so is a reader in this process,
        which a staging copy would not get past: DuckDB would hand this process's next connections the
        database it already has open, the file from before the publish.
        """
        deadline = time.monotonic() + self.holder_timeout
        delay = _FIRST_RETRY
        while True:
            try:
                return _connect(self.path, config=config), None
            except duckdb.Error as exc:
                if not is_held_elsewhere(exc):
                    raise
                readers = None if is_held_in_this_process(exc) else self._hold_shared()
                if readers is not None:
                    return None, readers
                if time.monotonic() >= deadline:
                    raise WarehouseBusy(self._holder_message(exc)) from None
            self._sleep(delay)
            delay = min(delay * 2, _WRITER_MAX_RETRY)

    def _hold_shared(self) -> BinaryIO | None:
        """The warehouse file open with a shared lock on it, or None if a read-write holder has it.

        The lock is the kind a read-only DuckDB connection takes, so it succeeds beside readers and keeps
        read-write connections out until the handle is closed. ``fcntl`` locks are released when *any*
        descriptor of the file in this process closes, so the staging copy reads through this handle.
        """
        try:
            handle = self.path.open("rb")
        except FileNotFoundError:
            return None
        try:
            fcntl.lockf(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return None
        return handle

    def _holder_message(self, exc: duckdb.Error) -> str:
        """Why a writer gave up: who held the file read-write all along, and what lets the load through."""
        return (
            f"{self.path} is open read-write in {holder(exc)} and stayed open for "
            f"{self.holder_timeout:.0f}s; close that connection, or reopen it read-only "
            f"(`duckdb -readonly {self.path}`), which never holds up a load"
        )

    def _reader_busy_message(self, exc: duckdb.Error, waited: bool) -> str:
        """Why a reader gave up: who holds the file read-write, and when reading can work."""
        stayed = f" and stayed open for {self.holder_timeout:.0f}s" if waited else ""
        return (
            f"{self.path} is open read-write in {holder(exc)}{stayed}; if that is a pipeline run, try "
            f"again when its load has finished; if it is a duckdb shell, reopen it read-only "
            f"(`duckdb -readonly {self.path}`)"
        )

    @contextmanager
    def _staged(self, original: BinaryIO, config: dict[str, str]) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection to a copy of the warehouse, published over it when the block ends."""
        staging = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}.tmp")
        staging_wal = staging.with_name(staging.name + ".wal")
        try:
            _copy(original, staging)
            if self.wal_path.exists():  # committed work a crash left unmerged: DuckDB replays it
                with self.wal_path.open("rb") as wal:
                    _copy(wal, staging_wal)
            con = _connect(staging, config=config)
            try:
                yield con
                con.execute("checkpoint")
            finally:
                con.close()
            fsync_path(staging)
            self._publish(staging)
        finally:
            staging.unlink(missing_ok=True)
            staging_wal.unlink(missing_ok=True)

    def _publish(self, staging: Path) -> None:
        """Rename the checkpointed staging copy over the warehouse, the WAL it absorbed moved aside first.

        DuckDB 1.5 replays a WAL it finds beside a database even when the WAL is older than the file
        (measured: a published copy beside the WAL it had absorbed read back that WAL's rows twice), so
        the published file must never meet the old WAL, not even for an instant a reader could open it
        in. The WAL is renamed aside (``.warehouse.duckdb.wal.absorbed``) before the rename, and removed
        after it. Until the rename, readers see the file without the WAL's commits: older, never doubled.
        A crash in between is finished by the next writer: the marker names the published file by its
        inode, which the rename keeps; if the rename had not happened, the WAL goes back beside the file.
        """
        if self.wal_path.exists():
            self._publish_marker.write_text(str(staging.stat().st_ino))
            fsync_path(self._publish_marker)
            os.replace(self.wal_path, self._absorbed_wal)
            fsync_path(self.path.parent)
        os.replace(staging, self.path)
        fsync_path(self.path.parent)
        self._absorbed_wal.unlink(missing_ok=True)
        self._publish_marker.unlink(missing_ok=True)

    @property
    def _absorbed_wal(self) -> Path:
        return self.path.with_name(f".{self.wal_path.name}.absorbed")

    def _recover(self) -> None:
        """Finish what a writer killed mid-publish left, and remove dead writers' staging files.

        Called under the writers' lock: a staging file found then belongs to a writer that died.
        """
        marker = self._publish_marker
        if marker.exists():
            try:
                published = int(marker.read_text())
            except ValueError:  # killed while writing the marker: the rename had not happened
                published = None
            if self.path.exists() and self.path.stat().st_ino == published:
                self._absorbed_wal.unlink(missing_ok=True)  # already merged into the published file
                self.wal_path.unlink(missing_ok=True)  # (left so by releases that removed it last)
            elif self._absorbed_wal.exists():  # killed before the rename: the file still needs its WAL
                os.replace(self._absorbed_wal, self.wal_path)
                fsync_path(self.path.parent)
            marker.unlink()
        for pattern in (f".{self.path.name}.*.tmp", f".{self.path.name}.*.tmp.wal"):
            for stale in self.path.parent.glob(pattern):
                stale.unlink(missing_ok=True)

    @contextmanager
    def reader(self, *, wait: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection (fails if the warehouse does not exist yet).

        It takes a shared lock on the file only, never the writers' turn, so a pipeline load while it is
        open goes through a staging copy and this connection keeps reading the snapshot it opened. A
        connection holding the file read-write (a load that found no reader there, a ``duckdb`` shell,
        a writer open in this process) keeps new readers out while it lasts: the reader raises
        :class:`WarehouseBusy` naming it, or, with ``wait`` (for a reader that must not fail while a load
        runs: the report, say), tries again with backoff for up to ``holder_timeout`` first.

        It needs no write access anywhere: a data directory nobody here can write to can be read.
        """
        if not self.path.is_file():
            raise FileNotFoundError(
                f"no warehouse at {self.path}; run `analytics-pipeline demo` or a backfill first"
            )
        con = self._connect_reader(wait)
        try:
            yield con
        finally:
            con.close()

    def _connect_reader(self, wait: bool) -> duckdb.DuckDBPyConnection:
        """The file opened read-only, waiting for a read-write holder (up to ``holder_timeout``) if asked."""
        deadline = time.monotonic() + (self.holder_timeout if wait else 0.0)
        delay = _FIRST_RETRY
        while True:
            try:
                return _connect(self.path, read_only=True)
            except duckdb.Error as exc:
                if not is_held_elsewhere(exc):
                    raise
                if time.monotonic() >= deadline:
                    raise WarehouseBusy(self._reader_busy_message(exc, wait)) from None
            self._sleep(delay)
            delay = min(delay * 2, _READER_MAX_RETRY)
