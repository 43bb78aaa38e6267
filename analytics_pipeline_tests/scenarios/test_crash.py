"""A backfill SIGKILLed at chosen points, then run again, ends with an uninterrupted run's warehouse.

The backfill runs as a real ``analytics-pipeline backfill`` process (``crash_child.py``) against a
sandbox in this process, and dies by SIGKILL at a point named by a trigger rather than a timer: the
sandbox holding the N-th request (mid-page), or a function of the child killing it on its N-th call
(mid-write, after a Parquet commit, between loads, mid-transaction, while creating the warehouse). The
backfill is then run again, unpatched, and must leave: the same warehouse as a clean run, no duplicate
on any table's grain, no temporary file anywhere under the data directory, no DuckDB WAL, and a second
run with nothing to do.

The range is the last days of last month: a complete month, so nothing in it depends on today's date.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from analytics_pipeline.api.endpoints import ASSET_ENDPOINTS
from analytics_pipeline.dates import month_start, utc_today
from analytics_pipeline.defs.checks import RULES
from analytics_pipeline.landing import RawStore
from analytics_pipeline.sandbox import SandboxRequest, SandboxResponse, SandboxServer, SyntheticOrg
from analytics_pipeline.warehouse import Warehouse
from analytics_pipeline.warehouse.sql import table_exists
from analytics_pipeline_tests.conftest import (
    SANDBOX_TOKEN,
    TEST_BURST,
    TEST_REQUESTS_PER_MINUTE,
    run_cli,
    sandbox_env,
    warehouse_snapshot,
)
from analytics_pipeline_tests.scenarios.test_readers import Holder

CHILD = Path(__file__).with_name("crash_child.py")
DAYS = 6
END = month_start(utc_today()) - dt.timedelta(days=1)
START = END - dt.timedelta(days=DAYS - 1)
BACKFILL = ("backfill", "--start", START.isoformat(), "--end", END.isoformat())
CHILD_TIMEOUT = 120.0


@pytest.fixture(scope="module")
def crash_sandbox() -> Iterator[SandboxServer]:
    """A small organisation of its own: the test holds and counts this sandbox's requests."""
    org = SyntheticOrg(seed=5, people=30, service_accounts=2)
    with SandboxServer(
        org, tokens=(SANDBOX_TOKEN,), requests_per_minute=TEST_REQUESTS_PER_MINUTE, burst=TEST_BURST
    ) as server:
        yield server


@pytest.fixture(scope="module")
def reference(crash_sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The data directory of one uninterrupted backfill of the range."""
    root = tmp_path_factory.mktemp("reference")
    result = run_cli(*BACKFILL, env=sandbox_env(crash_sandbox, root))
    assert result.exit_code == 0, result.output
    return root / "data"


def spawn_backfill(env: dict[str, str], point: str, n: int, log: Path) -> subprocess.Popen[bytes]:
    """The backfill command in a child process that SIGKILLs itself at ``point`` on the n-th call."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, str(CHILD), point, str(n), "--", *BACKFILL],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


class KillOnRequest:
    """Holds the n-th request's response until the child that sent it is dead by SIGKILL."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.seen = 0
        self.child: subprocess.Popen[bytes] | None = None
        self.lock = threading.Lock()

    def __call__(self, request: SandboxRequest, response: SandboxResponse) -> SandboxResponse:
        with self.lock:
            self.seen += 1
            if self.seen == self.n and self.child is not None:
                self.child.send_signal(signal.SIGKILL)
                self.child.wait()
        return response


def temporary_files(data_dir: Path) -> list[Path]:
    return sorted(p for p in data_dir.rglob("*") if p.name.endswith(".tmp") or p.name.endswith(".wal"))


def duplicates(data_dir: Path) -> dict[str, int]:
    """Rows beyond the first on each table's grain."""
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        return {
            rules.table: con.execute(
                f"select count(*) - count(distinct ({', '.join(rules.grain)})) from {rules.table}"
            ).fetchall()[0][0]
            for rules in RULES
        }


def left_by_the_kill(data_dir: Path) -> set[str]:
    """What a killed backfill left for the next run to deal with."""
    left = set()
    if any(p.name.endswith(".tmp") for p in (data_dir / "raw").rglob("*")):
        left.add("raw temporary files")
    if (data_dir / "warehouse.duckdb.wal").exists():
        left.add("a WAL")
    landed = {(e.name, d) for e in ASSET_ENDPOINTS for d in RawStore(data_dir / "raw").landed_days(e)}
    loaded: set[tuple[str, dt.date]] = set()
    if (data_dir / "warehouse.duckdb").exists():
        with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
            # Killed while the first writer created the file, its tables are not there yet.
            if table_exists(con, "pipeline_partitions"):
                loaded = set(con.execute("select endpoint, date from pipeline_partitions").fetchall())
    if landed - loaded:
        left.add("landed, not loaded")
    if any(("editor_language", d) in loaded and ("dau", d) not in loaded for _, d in loaded):
        left.add("derivable, not derived")
    return left


# The first (coarse) run writes two pages of budget overrides to each day, then daily-usage's and
# dau-count's windows (a page each), then the month; its loads go in table order: budget overrides,
# daily usage, dau count, the month. Requests: 5 coarse, 1 credit, then editor-language day by day (the
# month's days are final: dau and user-activity are derived from it), then user-activity over the range
# (the month's other days are not loaded) for the derivation's monthly check.
KILL_POINTS = [
    # editor-language, mid-run, while the coarse and credit runs load in the other thread
    pytest.param("mid_page", 6 + DAYS // 2, "landed, not loaded", id="mid-page"),
    # the derivation, as it commits the days it accepted
    pytest.param("mid_derive", 1, "derivable, not derived", id="mid-derive"),
    # daily-usage, mid-window: half the window's days have a temporary file
    pytest.param("mid_write", 2 * DAYS + DAYS // 2, "raw temporary files", id="mid-write"),
    # the coarse run's last partition landed, nothing loaded yet
    pytest.param("after_commit", 3 * DAYS + 1, "landed, not loaded", id="landed-not-loaded"),
    # every coarse table loaded but the month
    pytest.param("between_loads", 3 * DAYS, "landed, not loaded", id="between-loads"),
    # daily usage, mid-window: the days committed before are in the WAL only
    pytest.param("mid_transaction", DAYS + DAYS // 2, "a WAL", id="mid-transaction"),
]


@pytest.mark.parametrize(("point", "n", "left"), KILL_POINTS)
def test_killed_backfill_resumes_to_the_uninterrupted_warehouse(
    crash_sandbox: SandboxServer, reference: Path, tmp_path: Path, point: str, n: int, left: str
) -> None:
    env = sandbox_env(crash_sandbox, tmp_path)
    log = tmp_path / "child.log"
    hold = KillOnRequest(n)
    if point == "mid_page":
        crash_sandbox.before_response = hold
    try:
        child = spawn_backfill(env, "none" if point == "mid_page" else point, n, log)
        hold.child = child
        child.wait(timeout=CHILD_TIMEOUT)
    finally:
        crash_sandbox.before_response = None
    assert child.returncode == -signal.SIGKILL, log.read_text()
    assert left in left_by_the_kill(tmp_path / "data")

    assert_resumes_like_reference(crash_sandbox, env, reference)


def assert_resumes_like_reference(sandbox: SandboxServer, env: dict[str, str], reference: Path) -> None:
    """The backfill run again completes the warehouse as a clean run did, and a third run has no work."""
    data_dir = Path(env["ANALYTICS_DATA_DIR"])
    resumed = run_cli(*BACKFILL, env=env)
    assert resumed.exit_code == 0, resumed.output

    assert warehouse_snapshot(data_dir) == warehouse_snapshot(reference)
    assert set(duplicates(data_dir).values()) == {0}
    assert temporary_files(data_dir) == []
    sandbox.stats.reset()
    again = run_cli(*BACKFILL, env=env)
    assert again.exit_code == 0, again.output
    assert f"{DAYS} already loaded" in again.output
    assert sandbox.stats.total == 0


def test_killed_while_the_first_writer_creates_the_warehouse(
    crash_sandbox: SandboxServer, reference: Path, tmp_path: Path
) -> None:
    """A warehouse file without a table: ``plan`` reads it as nothing loaded, the backfill completes it."""
    env = sandbox_env(crash_sandbox, tmp_path)
    child = spawn_backfill(env, "mid_schema", 1, tmp_path / "child.log")
    child.wait(timeout=CHILD_TIMEOUT)
    assert child.returncode == -signal.SIGKILL, (tmp_path / "child.log").read_text()
    data_dir = tmp_path / "data"
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("from duckdb_tables()").fetchall() == []
    assert "landed, not loaded" in left_by_the_kill(data_dir)

    plan = run_cli("plan", *BACKFILL[1:], env=env)
    assert plan.exit_code == 0, plan.output
    assert f"{DAYS} days, 0 already loaded (none)" in plan.output
    assert_resumes_like_reference(crash_sandbox, env, reference)


def test_killed_mid_load_into_a_staging_copy_while_a_reader_holds_the_warehouse(
    crash_sandbox: SandboxServer, reference: Path, tmp_path: Path
) -> None:
    env = sandbox_env(crash_sandbox, tmp_path)
    warehouse = Warehouse(tmp_path / "data" / "warehouse.duckdb")
    with warehouse.writer():
        pass  # an empty warehouse, for the analyst to open
    analyst = Holder(warehouse.path, "ro")
    try:
        # The child's first writer (what is loaded already?) publishes a copy past the analyst's
        # snapshot; once fetching has begun, the analyst reconnects, so the first load is staged too.
        def reconnect_on_third_request(request: SandboxRequest, response: SandboxResponse) -> SandboxResponse:
            nonlocal seen
            seen += 1
            if seen == 3:
                analyst.reopen()
            return response

        seen = 0
        crash_sandbox.before_response = reconnect_on_third_request
        try:
            child = spawn_backfill(env, "mid_staged_load", 1, tmp_path / "child.log")
            child.wait(timeout=CHILD_TIMEOUT)
        finally:
            crash_sandbox.before_response = None
        assert child.returncode == -signal.SIGKILL, (tmp_path / "child.log").read_text()
        left = temporary_files(warehouse.path.parent)
        staging = [p for p in left if p.parent == warehouse.path.parent]
        assert len(staging) == 1 and staging[0].name.startswith(".warehouse.duckdb."), left
        # Anything else is what a fetching thread was writing when the loads thread was killed: a raw
        # partition, or the rate limiter's state (its next request removes that one).
        raw, limiter = warehouse.path.parent / "raw", warehouse.path.parent / ".state"
        others = [p for p in left if p not in staging]
        assert all(
            (p.is_relative_to(raw) and p.name.startswith(".part-0.parquet."))
            or (p.parent == limiter and p.name.startswith(".ratelimit-"))
            for p in others
        ), others
        assert analyst.count("select count(*) from fct_dau_count") == 0

        assert_resumes_like_reference(crash_sandbox, env, reference)
        assert analyst.count("select count(*) from fct_dau_count") == 0  # its snapshot, still whole
        analyst.reopen()
        assert analyst.count("select count(*) from fct_dau_count") == DAYS
    finally:
        analyst.close()


def test_a_backfill_with_nothing_to_fetch_still_removes_what_killed_runs_left(
    crash_sandbox: SandboxServer, reference: Path, tmp_path: Path
) -> None:
    """Temporary files in partitions no run will write again (a kill while re-landing a day that a
    resumed backfill skips), and a staging copy of the warehouse: removed by the next backfill, even
    one with nothing to fetch. (The limiter's are removed by its next request: see test_ratelimit.)"""
    data_dir = tmp_path / "data"
    shutil.copytree(reference, data_dir)
    left = [
        next((data_dir / "raw" / "editor_language").iterdir()) / ".part-0.parquet.0123abcd.tmp",
        next((data_dir / "raw" / "user_activity_monthly").iterdir()) / ".part-0.parquet.0123abcd.tmp",
        data_dir / ".warehouse.duckdb.0123abcd.tmp",
    ]
    for path in left:
        path.write_bytes(b"what a killed process left")

    crash_sandbox.stats.reset()
    result = run_cli(*BACKFILL, env=sandbox_env(crash_sandbox, tmp_path))

    assert result.exit_code == 0, result.output
    assert crash_sandbox.stats.total == 0
    assert temporary_files(data_dir) == []
    assert warehouse_snapshot(data_dir) == warehouse_snapshot(reference)
