"""The warehouse as a DuckLake: its catalog in PostgreSQL, its Parquet files in a shared path or S3.

:class:`LakeWarehouse` has the file warehouse's doors (:class:`~analytics_pipeline.warehouse.Warehouse`):
:meth:`~LakeWarehouse.reader`, :meth:`~LakeWarehouse.writer`, :meth:`~LakeWarehouse.recover` and
:meth:`~LakeWarehouse.verify`, so every caller works on either. Each connection is an in-memory DuckDB
with the lake attached as ``lake`` and made the default database (``USE lake``): the schema, loads,
checks and analysis SQL run there unchanged.

- Writers take turns on a PostgreSQL advisory lock on the catalog (:mod:`.writers_turn`), on any host.
  A load is one DuckLake transaction (one snapshot): readers see the day before it or after it.
- Readers attach ``READ_ONLY`` and take no lock: they read the snapshot current when each query
  starts, from any host, while loads go on. No staging copy, no waiting.
- The password never enters SQL text: it goes into a temporary DuckDB secret as a bound parameter, and
  the ``ATTACH`` names the secret (``META_SECRET``), so neither ``duckdb_databases()`` nor an error
  shows it; every error raised here is redacted all the same.
- Extensions come from their wheels (:mod:`.extensions`), never from the network.

A writer killed mid-load leaves no half load (its transaction never committed) and no lock (its
PostgreSQL session ended); at most the Parquet files it had written and not committed stay in the
data path, which DuckLake's ``ducklake_delete_orphaned_files`` removes (docs/warehouse.md).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import duckdb
import psycopg2

from analytics_pipeline.config.s3 import S3Settings
from analytics_pipeline.config.settings import ConfigError
from analytics_pipeline.config.warehouse_url import DATA_PATH_VARIABLE, VARIABLE, LakeUrl
from analytics_pipeline.errors import FIX_INPUT, PipelineError
from analytics_pipeline.warehouse.analysis import LAKE_INSTALLED_FILES, install_analysis
from analytics_pipeline.warehouse.connection import WarehouseBusy
from analytics_pipeline.warehouse.extensions import OFFLINE_CONFIG, load_extensions
from analytics_pipeline.warehouse.headroom import memory_limit_bytes
from analytics_pipeline.warehouse.schema import create_schema
from analytics_pipeline.warehouse.sql import read_sql
from analytics_pipeline.warehouse.writers_turn import TurnTimeout, writers_turn

LAKE_NAME = "lake"
"""The name the lake is attached under in every connection (``lake.fct_dau_count``)."""
CATALOG_SECRET = "analytics_lake_catalog"
LAKE_S3_SECRET = "analytics_lake_data"
"""The temporary secret that lets a lake connection write and read its data path on S3."""

LAKE_WRITER_CONFIG: dict[str, str] = {
    "memory_limit": "64MB",
    "threads": "1",
    "allocator_flush_threshold": "8MB",
    "allocator_background_threads": "true",
}
"""A lake writer holds no database file of its own: its inserts become Parquet files written when the
load commits, so the file writer's row-group buffer setting has nothing to bound. One thread, as on the
file (loads run beside the fetching threads). 64 MB: attaching reads the catalog into memory (8 MiB ran
out); a 30-day, 300-person backfill peaked at 335 MB of process RSS on the lake against 284 MB on the file
(measured; most of it is Dagster and the fetching)."""


class LakeUnreachable(PipelineError, RuntimeError):
    """The DuckLake's catalog or data path cannot be reached or used; the message says which and why."""

    exit_code = FIX_INPUT


class LakeWarehouse:
    """A DuckLake warehouse and the way to open it (the file warehouse's doors)."""

    def __init__(
        self,
        lake: LakeUrl,
        *,
        lock_timeout: float = 900.0,
        sleep: Callable[[float], None] = time.sleep,
        prepare: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
    ) -> None:
        self.lake = lake
        self.prepare = prepare
        """Called on every writer's connection before it is used (the raw store's ``prepare_duckdb``, so
        loads can read raw partitions on S3)."""
        self.lock_timeout = lock_timeout
        """Seconds to wait for the pipeline's other writers (they hold the lake for one load each)."""
        self._sleep = sleep

    @property
    def description(self) -> str:
        """Where the warehouse is, for messages (no password)."""
        return self.lake.display

    @property
    def read_only_shell(self) -> str:
        """How to read the warehouse at a SQL prompt (``analytics-pipeline sql`` attaches it read-only)."""
        return "`analytics-pipeline sql`"

    def exists(self) -> bool:
        """Whether the catalog holds a DuckLake yet (a first writer creates it)."""
        with self._catalog() as cur:
            cur.execute(read_sql("lake/catalog_exists"))
            return bool(cur.fetchone() == (True,))

    def verify(self) -> None:
        """Raise a one-line error now unless the catalog is reachable and ours to use and the data path is
        the lake's: before a command fetches for minutes, and before anything is written."""
        data_path = self._catalog_data_path()
        if data_path is not None and data_path != self.lake.data_path:
            raise ConfigError(
                f"{DATA_PATH_VARIABLE} is {self.lake.data_path} but the DuckLake in {self.lake.database} "
                f"keeps its files in {data_path}; set {DATA_PATH_VARIABLE}={data_path} (the path must be "
                "the same on every host)"
            )
        if self.lake.is_s3:
            with duckdb.connect(config=dict(OFFLINE_CONFIG)) as con:
                _prepare_s3(con, self.lake.data_path)
            _s3_settings(self.lake.data_path).check_bucket(self.lake.data_path, DATA_PATH_VARIABLE)
        # A local data path was checked to exist when the settings were read.

    def recover(self) -> None:
        """Nothing to finish: a killed lake writer's transaction never committed and its lock went with
        its session (see the module for the files it may leave)."""

    @contextmanager
    def writer(self, *, memory_limit: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection with the schema in place, while this process has the writers' turn.

        What it writes is committed by each transaction (a load's is one); ``memory_limit`` replaces the
        writers' cap for work known to need less (or more).
        """
        with self._turn(), self._connection(LAKE_WRITER_CONFIG) as con:
            create_schema(con, lake=True)
            install_analysis(con, files=LAKE_INSTALLED_FILES)
            if memory_limit is not None:
                _raise_cap(con, memory_limit)
            if self.prepare is not None:
                self.prepare(con)
            yield con

    @contextmanager
    def reader(self, *, wait: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only connection (fails if the lake does not exist yet).

        It never waits and never holds up a load: each query reads the snapshot committed when it
        starts. ``wait`` is accepted for the file warehouse's callers, and changes nothing here.
        """
        if not self.exists():
            raise FileNotFoundError(
                f"no warehouse yet in {self.description}; run `analytics-pipeline backfill` first"
            )
        with self._connection({}, read_only=True) as con:
            yield con

    @contextmanager
    def _turn(self) -> Iterator[None]:
        try:
            with writers_turn(self.lake, timeout=self.lock_timeout, sleep=self._sleep):
                yield
        except TurnTimeout:
            raise WarehouseBusy(
                f"another pipeline run has held the writers' turn on {self.description} for over "
                f"{self.lock_timeout:.0f}s; wait for it to finish, then run again"
            ) from None
        except psycopg2.OperationalError as exc:
            raise LakeUnreachable(self._unreachable(exc)) from None

    @contextmanager
    def _connection(
        self, config: dict[str, str], *, read_only: bool = False
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """An in-memory DuckDB with the lake attached and in use; spills go to a private temporary
        directory (an in-memory database would spill into the working directory's ``.tmp``)."""
        spill = tempfile.mkdtemp(prefix="analytics-lake-")
        try:
            settings: dict[str, str | bool | int | float | list[str]] = {
                **OFFLINE_CONFIG,
                **config,
                "temp_directory": spill,
            }
            con = duckdb.connect(config=settings)
            try:
                self._attach(con, read_only=read_only)
                yield con
            finally:
                con.close()
        finally:
            shutil.rmtree(spill, ignore_errors=True)

    def _attach(self, con: duckdb.DuckDBPyConnection, *, read_only: bool) -> None:
        load_extensions(con, "ducklake", "postgres_scanner")
        if self.lake.is_s3:
            _prepare_s3(con, self.lake.data_path)
        if self.lake.password is not None:
            con.execute(read_sql("lake/create_catalog_secret"), {"password": self.lake.password})
        # ATTACH takes literals only; the password is not among them (it is in the secret).
        options = [f"data_path {_literal(self.lake.data_path)}"]
        if self.lake.password is not None:
            options.append(f"meta_secret {_literal(CATALOG_SECRET)}")
        if read_only:
            options.append("read_only")
        target = _literal("ducklake:postgres:" + self.lake.conninfo)
        try:
            con.execute(f"attach {target} as {LAKE_NAME} ({', '.join(options)})")
        except duckdb.Error as exc:
            raise self._attach_error(exc) from None
        con.execute(f"use {LAKE_NAME}")

    def _attach_error(self, exc: duckdb.Error) -> PipelineError:
        text = str(exc)
        if "does not match existing data path" in text:
            return ConfigError(
                f"{DATA_PATH_VARIABLE} {self.lake.data_path} is not where the DuckLake in "
                f"{self.lake.database} keeps its files; set it to the path the lake was created with "
                "(the same on every host)"
            )
        return LakeUnreachable(f"cannot attach {self.description}: {self.lake.redact(_first_line(text))}")

    @contextmanager
    def _catalog(self) -> Iterator[psycopg2.extensions.cursor]:
        """A cursor on the catalog database, errors redacted into :class:`LakeUnreachable`."""
        try:
            con = psycopg2.connect(
                self.lake.reveal(), application_name="analytics-pipeline", connect_timeout=10
            )
        except psycopg2.OperationalError as exc:
            raise LakeUnreachable(self._unreachable(exc)) from None
        try:
            with con.cursor() as cur:
                yield cur
        finally:
            con.close()

    def _catalog_data_path(self) -> str | None:
        """The data path recorded in the catalog, or None when there is no lake there yet."""
        with self._catalog() as cur:
            cur.execute(read_sql("lake/catalog_exists"))
            if cur.fetchone() != (True,):
                return None
            cur.execute(read_sql("lake/catalog_data_path"))
            row = cur.fetchone()
            return str(row[0]) if row else None

    def _unreachable(self, exc: psycopg2.Error) -> str:
        why = self.lake.redact(_first_line(str(exc)))
        return (
            f"cannot reach the DuckLake catalog {self.lake.database} ({why}); check {VARIABLE}: host, "
            "port, user and password, and that the database exists"
        )


def _raise_cap(con: duckdb.DuckDBPyConnection, memory_limit: str) -> None:
    """The writer's cap raised to ``memory_limit``, never lowered: the lake's catalog, read into memory
    when it is attached, needs the lake writer's own cap, and less (dim_users' 8 MiB) only ran out of
    memory and ran again with more (measured)."""
    own = memory_limit_bytes(con)
    con.execute(read_sql("reads/set_memory_limit"), {"limit": memory_limit})
    wanted = memory_limit_bytes(con)
    if own is not None and wanted is not None and wanted < own:
        con.execute(read_sql("reads/set_memory_limit"), {"limit": f"{own} bytes"})


def _prepare_s3(con: duckdb.DuckDBPyConnection, data_path: str) -> None:
    """An ``s3://`` data path: httpfs (from its wheel), upload parts that fit a writer's cap, and a
    temporary S3 secret scoped to the data path, from the standard AWS variables (``config/s3.py``, the
    raw store's too); none set is a one-line error."""
    settings = _s3_settings(data_path)
    load_extensions(con, "httpfs")
    con.execute(read_sql("lake/set_upload_part_size"))
    settings.create_duckdb_secret(con, LAKE_S3_SECRET, data_path)


def _s3_settings(data_path: str) -> S3Settings:
    """The standard AWS variables' settings, for an ``s3://`` data path (a one-line error without them)."""
    return S3Settings.from_env(os.environ, needed_by=f"{DATA_PATH_VARIABLE} {data_path}")


def _literal(text: str) -> str:
    """``text`` as a SQL string literal (for statements that take no parameters: ATTACH)."""
    return "'" + text.replace("'", "''") + "'"


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else "no detail"
