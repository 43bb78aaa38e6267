"""Another process holding the warehouse never breaks a load, and never loses its own work.

The holders are real processes (``warehouse_child.py``): DuckDB's locks are per process, so a
connection in this process would prove nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from filelock import FileLock

from analytics_pipeline.api.endpoints import BY_NAME
from analytics_pipeline.backfill.estimate_live import read_history
from analytics_pipeline.landing import RawStore
from analytics_pipeline.organization import DEFAULT_ORGANIZATION
from analytics_pipeline.report import publish_report
from analytics_pipeline.sandbox import SandboxServer
from analytics_pipeline.warehouse import Warehouse, WarehouseBusy, load_partition, refresh_dim_users
from analytics_pipeline.warehouse.export import export
from analytics_pipeline_tests.conftest import run_cli, sandbox_env
from analytics_pipeline_tests.warehouse.test_warehouse import DAYS, land_all

CHILD = Path(__file__).with_name("warehouse_child.py")
DAU = BY_NAME["dau"]
USERS_SQL = "select count(*) from fct_dau_users"
TIMEOUT = 60.0


class Holder:
    """A process with the warehouse open (``ro``, ``rw`` or through ``Warehouse.reader()``)."""

    def __init__(self, path: Path, mode: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(CHILD), "hold", str(path), mode],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self._expect_open()

    @property
    def pid(self) -> int:
        return self.process.pid

    def _expect_open(self) -> None:
        assert self.process.stdout is not None
        line = self.process.stdout.readline().strip()
        assert line == "open", line

    def _send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def query(self, sql: str) -> Any:
        self._send(sql)
        assert self.process.stdout is not None
        answer = json.loads(self.process.stdout.readline())
        assert "error" not in answer, answer["error"]
        return answer["rows"]

    def count(self, sql: str = USERS_SQL) -> int:
        return self.query(sql)[0][0]

    def reopen(self) -> None:
        self._send("reopen")
        self._expect_open()

    def close(self) -> None:
        if self.process.poll() is None:
            self._send("quit")
            self.process.wait(TIMEOUT)


@pytest.fixture
def holders() -> Iterator[Callable[[Path, str], Holder]]:
    started: list[Holder] = []

    def start(path: Path, mode: str) -> Holder:
        started.append(Holder(path, mode))
        return started[-1]

    yield start
    for holder in started:
        if holder.process.poll() is None:
            holder.process.kill()
            holder.process.wait(TIMEOUT)


def run_child(command: str, path: Path) -> int:
    return subprocess.run([sys.executable, str(CHILD), command, str(path)], timeout=TIMEOUT).returncode


@pytest.fixture
def store(tmp_path: Path) -> RawStore:
    store = RawStore(tmp_path / "raw")
    land_all(store)
    return store


@pytest.fixture
def warehouse(tmp_path: Path, store: RawStore) -> Warehouse:
    """Two days of dau loaded (two users a day); the third day landed, not loaded."""
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    load_dau(warehouse, store, DAYS[:2])
    return warehouse


def load_dau(warehouse: Warehouse, store: RawStore, days: list[dt.date]) -> None:
    with warehouse.writer() as con:
        for day in days:
            load_partition(con, store, DAU, day, organization=DEFAULT_ORGANIZATION)
        refresh_dim_users(con, organization=DEFAULT_ORGANIZATION)


def users(warehouse: Warehouse) -> int:
    with warehouse.reader() as con:
        return con.execute(USERS_SQL).fetchall()[0][0]


def leftovers(warehouse: Warehouse) -> list[str]:
    """Anything beside the database but its lock file: staging copies, a WAL, a publish marker."""
    name = warehouse.path.name
    return sorted(
        p.name
        for p in warehouse.path.parent.iterdir()
        if p.name.startswith((f".{name}", f"{name}.")) and p.name != f"{name}.lock"
    )


def never_sleep(seconds: float) -> None:
    pytest.fail(f"the writer waited {seconds}s: a read-only holder must not delay a load")


@pytest.mark.parametrize("mode", ["ro", "reader"])
def test_a_load_under_readers_publishes_a_new_file_and_readers_keep_their_snapshot(
    store: RawStore, warehouse: Warehouse, holders: Callable[[Path, str], Holder], mode: str
) -> None:
    reader = holders(warehouse.path, mode)
    assert reader.count() == 4
    before = warehouse.path.stat().st_ino

    load_dau(Warehouse(warehouse.path, sleep=never_sleep), store, DAYS[2:])

    assert warehouse.path.stat().st_ino != before  # a new file, renamed over the old one
    assert reader.count() == 4  # the reader's snapshot, whole and consistent
    assert users(warehouse) == 6  # a new connection sees the load
    assert stat.S_IMODE(warehouse.path.stat().st_mode) == 0o600
    assert leftovers(warehouse) == []

    # The reader now holds the old file only: the next load opens the warehouse directly.
    published = warehouse.path.stat().st_ino
    load_dau(Warehouse(warehouse.path, sleep=never_sleep), store, DAYS[2:])
    assert warehouse.path.stat().st_ino == published
    reader.reopen()
    assert reader.count() == 6


def test_a_read_write_holder_gets_a_bounded_wait_and_a_one_line_message(
    store: RawStore, warehouse: Warehouse, holders: Callable[[Path, str], Holder]
) -> None:
    analyst = holders(warehouse.path, "rw")
    analyst.query("create table analyst_notes as select 'kept' as note")  # theirs, in their WAL
    started = time.monotonic()
    with pytest.raises(WarehouseBusy) as raised:
        load_dau(Warehouse(warehouse.path, holder_timeout=0.5), store, DAYS[2:])
    assert time.monotonic() - started < 10
    message = str(raised.value)
    assert "\n" not in message
    assert f"PID {analyst.pid}" in message
    assert f"duckdb -readonly {warehouse.path}" in message
    assert analyst.query("from analyst_notes") == [["kept"]]
    analyst.close()

    assert users(warehouse) == 4  # intact, and the analyst's table is there too
    with warehouse.reader() as con:
        assert con.execute("from analyst_notes").fetchall() == [("kept",)]
    assert leftovers(warehouse) == []


def test_a_load_waits_for_a_read_write_holder_that_closes(
    store: RawStore, warehouse: Warehouse, holders: Callable[[Path, str], Holder]
) -> None:
    analyst = holders(warehouse.path, "rw")
    waits: list[float] = []

    def analyst_closes_while_we_wait(seconds: float) -> None:
        waits.append(seconds)
        analyst.close()

    load_dau(Warehouse(warehouse.path, sleep=analyst_closes_while_we_wait), store, DAYS[2:])
    assert len(waits) == 1
    assert users(warehouse) == 6


def test_a_wal_left_by_a_crash_is_merged_into_the_published_copy(
    store: RawStore, warehouse: Warehouse, holders: Callable[[Path, str], Holder]
) -> None:
    assert run_child("commit-then-die", warehouse.path) == -signal.SIGKILL
    assert warehouse.wal_path.exists()
    reader = holders(warehouse.path, "ro")  # DuckDB replays the WAL in memory for a reader
    assert reader.count("select count(*) from fct_dau_count where user_count = 41") == 1

    load_dau(Warehouse(warehouse.path, sleep=never_sleep), store, DAYS[2:])

    assert leftovers(warehouse) == []
    with warehouse.reader() as con:
        assert con.execute("select count(*) from fct_dau_count where user_count = 41").fetchall() == [(1,)]
        assert con.execute(USERS_SQL).fetchall() == [(6,)]


def test_a_writer_killed_mid_publish_is_finished_by_the_next(
    store: RawStore, warehouse: Warehouse, holders: Callable[[Path, str], Holder]
) -> None:
    assert run_child("commit-then-die", warehouse.path) == -signal.SIGKILL
    holders(warehouse.path, "ro")
    assert run_child("die-after-publish", warehouse.path) == -signal.SIGKILL
    # Published, with the WAL it absorbed moved aside, not yet removed: never beside the published file,
    # where DuckDB 1.5 would replay it again (its commit read back twice).
    assert not warehouse.wal_path.exists()
    with duckdb.connect(str(warehouse.path), read_only=True) as con:
        counts = con.execute(
            "select user_count from fct_dau_count where user_count > 40 order by 1"
        ).fetchall()
        assert counts == [(41,), (42,)]

    load_dau(warehouse, store, DAYS[2:])

    assert leftovers(warehouse) == []
    with warehouse.reader() as con:
        kept = con.execute("select user_count from fct_dau_count where user_count > 40 order by 1").fetchall()
        assert kept == [(41,), (42,)]  # the WAL's commit and the published load
        assert con.execute(USERS_SQL).fetchall() == [(6,)]


def test_a_writer_killed_before_publishing_leaves_the_warehouse_and_its_wal_alone(
    store: RawStore, warehouse: Warehouse
) -> None:
    assert run_child("commit-then-die", warehouse.path) == -signal.SIGKILL
    # What a writer killed while copying or loading leaves: staging files, a half-written marker.
    staging = warehouse.path.with_name(".warehouse.duckdb.0123abcd.tmp")
    staging.write_bytes(b"half a copy")
    staging.with_name(staging.name + ".wal").write_bytes(b"half a wal")
    warehouse.path.with_name(".warehouse.duckdb.publishing").write_text("")

    load_dau(warehouse, store, DAYS[2:])

    assert leftovers(warehouse) == []
    with warehouse.reader() as con:  # the WAL's commit was replayed, not thrown away
        assert con.execute("select count(*) from fct_dau_count where user_count = 41").fetchall() == [(1,)]
        assert con.execute(USERS_SQL).fetchall() == [(6,)]


def test_a_pipeline_run_completes_while_another_process_reads(
    sandbox: SandboxServer,
    tmp_path: Path,
    holders: Callable[[Path, str], Holder],
    last_week: tuple[dt.date, dt.date],
) -> None:
    env = sandbox_env(sandbox, tmp_path)
    first, second = last_week[1] - dt.timedelta(days=1), last_week[1]
    loaded = run_cli("backfill", "--start", first.isoformat(), "--end", first.isoformat(), env=env)
    assert loaded.exit_code == 0, loaded.output
    path = tmp_path / "data" / "warehouse.duckdb"
    days_sql = "select count(distinct date) from fct_dau_count"
    export = holders(path, "reader")  # what `analytics-pipeline export` holds

    result = run_cli("backfill", "--start", second.isoformat(), "--end", second.isoformat(), env=env)

    assert result.exit_code == 0, result.output
    assert export.count(days_sql) == 1
    with Warehouse(path).reader() as con:
        assert con.execute(days_sql).fetchall() == [(2,)]
    assert leftovers(Warehouse(path)) == []


def test_a_reader_never_takes_the_writers_turn(warehouse: Warehouse) -> None:
    """A pipeline writer waiting for its turn (or holding it) does not keep a reader out."""
    waiting = Warehouse(warehouse.path, lock_timeout=0.1, sleep=never_sleep)
    with FileLock(warehouse.lock_path), waiting.reader(wait=True) as con:
        assert con.execute(USERS_SQL).fetchall() == [(4,)]
    waiting.verify()


def test_a_waiting_reader_reads_once_the_read_write_holder_closes(
    warehouse: Warehouse, holders: Callable[[Path, str], Holder]
) -> None:
    loading = holders(warehouse.path, "rw")  # what a load that found no reader holds
    waits: list[float] = []

    def load_finishes_while_we_wait(seconds: float) -> None:
        waits.append(seconds)
        loading.close()

    with Warehouse(warehouse.path, sleep=load_finishes_while_we_wait).reader(wait=True) as con:
        assert con.execute(USERS_SQL).fetchall() == [(4,)]
    assert len(waits) == 1


@pytest.mark.parametrize("wait", [False, True], ids=["at-once", "after-waiting"])
def test_a_reader_kept_out_says_so_in_one_line_naming_the_holder(
    warehouse: Warehouse, holders: Callable[[Path, str], Holder], wait: bool
) -> None:
    analyst = holders(warehouse.path, "rw")
    sleep = time.sleep if wait else never_sleep
    started = time.monotonic()
    with pytest.raises(WarehouseBusy) as raised:
        with Warehouse(warehouse.path, holder_timeout=0.5, sleep=sleep).reader(wait=wait):
            pass
    assert time.monotonic() - started < 10
    message = str(raised.value)
    assert "\n" not in message
    assert f"PID {analyst.pid}" in message
    assert f"duckdb -readonly {warehouse.path}" in message
    assert ("stayed open for" in message) == wait


def test_export_report_and_plan_report_a_held_warehouse_as_busy(
    warehouse: Warehouse, holders: Callable[[Path, str], Holder], tmp_path: Path
) -> None:
    analyst = holders(warehouse.path, "rw")
    impatient = Warehouse(warehouse.path, holder_timeout=0.2)
    out = tmp_path / "out"
    out.mkdir()
    attempts: list[Callable[[], object]] = [
        lambda: export(
            warehouse, warehouse.path.parent, table="fct_dau_users", fmt="csv", out=out / "users.csv"
        ),
        lambda: publish_report(impatient, out / "usage.html"),
        lambda: read_history(impatient, DAYS[0], DAYS[-1], organization=DEFAULT_ORGANIZATION),
    ]
    for attempt in attempts:
        with pytest.raises(WarehouseBusy, match=f"PID {analyst.pid}"):
            attempt()
    assert list(out.iterdir()) == []
