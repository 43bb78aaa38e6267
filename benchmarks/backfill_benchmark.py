"""Backfill benchmark: requests sent against the fewest possible, rate achieved, 429s, time and memory;
then the analysis macros' query times on what was loaded.

Starts the sandbox API in this process (a thread) with a scaled-up rate limit, runs
``analytics-pipeline backfill`` as a subprocess over a fixed range for a fixed organisation, and
compares what the sandbox saw with the request planner's minimum over the sandbox's own numbers.
Then runs two backfills at once over the two halves of the range, sharing the token and the data
directory, and checks that their combined rate stays within the limit. Each ``--warehouse`` named gets
both, one after the other: the file in the data directory, or a DuckLake whose catalog is in a throwaway
PostgreSQL server (``analytics_pipeline_tests.postgres_server``) and whose data path is a temporary
directory. Last, every analysis macro runs a few times on each single backfill's warehouse, side by side.

The backfill derives final days' dau and user-activity from editor-language (``--no-derive``: fetches
every endpoint, as before issue 18), so its requests are compared with two plans: fetching every
endpoint (the old minimum), and the deriving plan with no day failing a check (exact on a clean sandbox;
``--unattributed-share`` makes the sandbox leave that share of activity rows out of editor-language, and
the days they fall on are fetched after all). ``--compare-fetched`` runs a ``--no-derive`` backfill too
and compares the two warehouses table by table. ``--rebuild`` then deletes the single backfill's
warehouse and times ``analytics-pipeline rebuild`` (no request), checking it rebuilds the same tables.

    python benchmarks/backfill_benchmark.py                             # small: about two minutes each
    python benchmarks/backfill_benchmark.py --people 2000 --days 730    # the 2-year target
    python benchmarks/backfill_benchmark.py --warehouse file lake       # the file, then a DuckLake
"""

from __future__ import annotations

import argparse
import bisect
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2

from analytics_pipeline.api.endpoints import BY_PATH, USER_ACTIVITY
from analytics_pipeline.backfill.derivation import final_days
from analytics_pipeline.backfill.estimate import (
    CHECKS,
    MONTHLY,
    Derivation,
    RequestPlan,
    check_windows,
    counts_from_org,
    plan_requests,
)
from analytics_pipeline.config.paths import DataPaths
from analytics_pipeline.config.warehouse_url import (
    DATA_PATH_VARIABLE,
    PREFIX,
    VARIABLE,
    LakeUrl,
    parse_warehouse_url,
)
from analytics_pipeline.dates import (
    days_between,
    month_start,
    monthly_range,
    reachable_floor,
    utc_today,
    yesterday,
)
from analytics_pipeline.provisional import DEFAULT_RECHECK_DAYS
from analytics_pipeline.sandbox import SandboxRequest, SandboxResponse, SandboxServer, SyntheticOrg
from analytics_pipeline.warehouse.analysis import MACROS
from analytics_pipeline.warehouse.location import WarehouseDoors, open_warehouse
from analytics_pipeline_tests.postgres_server import PostgresServer

TOKEN = "sandbox-token"
WINDOWS = (1.0, 10.0, 60.0)
"""Sliding windows (seconds) checked against the limit, besides the whole run."""
WAREHOUSES = ("file", "lake")
"""What ``--warehouse`` takes: the data directory's ``warehouse.duckdb``, or a DuckLake on PostgreSQL."""
RECENT_DAYS = 30
"""The macros run over the range's last this many days, and over the whole range."""
TABLES = (
    "fct_dau_count",
    "fct_dau_users",
    "fct_daily_usage",
    "fct_user_activity",
    "fct_user_activity_monthly",
    "fct_editor_language_activity",
    "fct_credit_usage",
    "dim_users",
)
"""The tables compared between warehouses (budget overrides are a snapshot of the moment they were read)."""


@dataclass(frozen=True)
class Answer:
    """One request the sandbox answered."""

    at: float
    """When it arrived (``time.monotonic``)."""
    endpoint: str
    status: int


class Recorder:
    """Records every request's arrival and answer through the sandbox's ``before_response`` hook
    (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answers: list[Answer] = []

    def __call__(self, request: SandboxRequest, response: SandboxResponse) -> SandboxResponse:
        # Arrival, not now: an answer takes milliseconds to compute, more for some pages than others,
        # and the limit applies to requests as they arrive.
        answer = Answer(request.received_at, endpoint_name(request), response.status)
        with self._lock:
            self._answers.append(answer)
        return response

    def take(self) -> list[Answer]:
        """Every answer so far, oldest first, and start afresh."""
        with self._lock:
            answers, self._answers = self._answers, []
        return sorted(answers, key=lambda a: a.at)


def endpoint_name(request: SandboxRequest) -> str:
    """The plan's name for a request: user-activity over more than one day is the monthly pass."""
    endpoint = BY_PATH.get(request.path)
    if endpoint is None:
        return request.path
    start, end = request.query.get("start_date"), request.query.get("end_date")
    if endpoint is USER_ACTIVITY and start != end and start and end:
        # A calendar month as the monthly pass queries it, or a derivation's check of part of one.
        first = dt.date.fromisoformat(start)
        queried = monthly_range(month_start(first), utc_today())
        return MONTHLY if queried == (first, dt.date.fromisoformat(end)) else CHECKS
    return endpoint.name


@dataclass(frozen=True)
class Run:
    """What one scenario produced."""

    answers: list[Answer]
    seconds: float
    peak_rss_mb: float
    """The largest peak RSS of any backfill process (with the processes it waited for)."""
    cpu_seconds: float
    """User and system CPU time of the backfill processes (with the processes they waited for)."""
    exit_codes: list[int]


@dataclass(frozen=True)
class Target:
    """Where one scenario's backfills load: a fresh data directory and, for a lake, its catalog and path."""

    kind: str
    data_dir: Path
    lake: LakeUrl | None = field(default=None, repr=False)
    lake_cpu_before: float = 0.0
    """The catalog server's CPU seconds before the backfill (:func:`server_cpu_seconds`)."""

    @property
    def env(self) -> dict[str, str]:
        """The warehouse's variables (none for the file: the data directory's is the default)."""
        if self.lake is None:
            return {}
        return {VARIABLE: PREFIX + self.lake.reveal(), DATA_PATH_VARIABLE: self.lake.data_path}

    def warehouse(self) -> WarehouseDoors:
        """The warehouse as the pipeline opens it."""
        return open_warehouse(self.data_dir, self.lake)


def new_target(kind: str, root: Path, postgres: PostgresServer | None) -> Target:
    """A fresh data directory under ``root``; for a lake, a new catalog database and data path too."""
    root.mkdir(parents=True)
    data_dir = root / "data"
    if kind == "file":
        return Target(kind, data_dir)
    assert postgres is not None
    lake_dir = root / "lake"
    lake_dir.mkdir()
    lake = parse_warehouse_url(PREFIX + postgres.libpq(postgres.create_database()), str(lake_dir))
    return Target(kind, data_dir, lake, server_cpu_seconds(lake))


def backfill_env(
    server: SandboxServer, args: argparse.Namespace, target: Target, start: dt.date
) -> dict[str, str]:
    """The backfill's environment: the sandbox, the scaled rate, a fresh data directory, the warehouse."""
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_HOME"}  # an ephemeral Dagster instance
    env.pop(VARIABLE, None)
    env.pop(DATA_PATH_VARIABLE, None)
    env.update(
        AUGMENT_API_BASE_URL=server.url,
        AUGMENT_API_TOKEN=TOKEN,
        AUGMENT_API_REQUESTS_PER_MINUTE=str(args.rpm),
        AUGMENT_API_BURST=str(args.burst),
        ANALYTICS_DATA_DIR=str(target.data_dir),
        ANALYTICS_START_DATE=start.isoformat(),
        **target.env,
    )
    return env


def _relay(process: subprocess.Popen[str], prefix: str) -> None:
    """Echo a backfill's progress lines as they come."""
    assert process.stdout is not None
    for line in process.stdout:
        print(f"{prefix}{line.rstrip()}", flush=True)


def wait_for(process: subprocess.Popen[str]) -> tuple[int, float, float]:
    """Wait for ``process``: its exit code, peak RSS in MB (its own, or a process it waited for) and CPU
    seconds (its own and those processes')."""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime  # KiB on Linux


def run_backfills(
    server: SandboxServer,
    recorder: Recorder,
    args: argparse.Namespace,
    target: Target,
    ranges: Sequence[tuple[dt.date, dt.date]],
    extra: Sequence[str] = (),
) -> Run:
    """Backfill each range in its own subprocess, all at once, and wait for every one."""
    recorder.take()
    server.stats.reset()
    data_dir = target.data_dir
    env = backfill_env(server, args, target, min(start for start, _ in ranges))
    started = time.monotonic()
    processes = []
    for start, end in ranges:
        command = [sys.executable, "-m", "analytics_pipeline.cli", "backfill"]
        process = subprocess.Popen(
            [*command, "--start", str(start), "--end", str(end), *extra],
            env=env,
            cwd=data_dir.parent,  # no stray .env from the caller's directory
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        relay = threading.Thread(target=_relay, args=(process, f"    [{start}..{end}] "), daemon=True)
        relay.start()
        processes.append((process, relay))
    codes, peaks, cpu = [], [], 0.0
    for process, relay in processes:
        code, peak, seconds = wait_for(process)
        codes.append(code)
        peaks.append(peak)
        cpu += seconds
        relay.join()
    seconds = time.monotonic() - started
    return Run(recorder.take(), seconds, max(peaks), cpu, codes)


def achieved_rate(answers: Sequence[Answer], burst: int, per_minute: float) -> float:
    """Requests after the burst per minute over the whole span, as a fraction of the allowed rate."""
    if len(answers) <= burst:
        return float("nan")
    span = answers[-1].at - answers[0].at
    return (len(answers) - burst) / span * 60 / per_minute if span > 0 else float("nan")


def max_in_window(times: Sequence[float], window: float) -> int:
    """The most requests in any window of ``window`` seconds."""
    return max((bisect.bisect_right(times, t + window) - i for i, t in enumerate(times)), default=0)


def sent_by_endpoint(answers: Sequence[Answer]) -> Counter[str]:
    """Requests the sandbox answered, per plan endpoint (429s included: they were sent)."""
    return Counter(a.endpoint for a in answers)


def recorded_by_endpoint(warehouse: WarehouseDoors) -> dict[str, int]:
    """Requests per endpoint as the pipeline recorded them (``pipeline_partitions.requests``)."""
    if not warehouse.exists():
        return {}
    with warehouse.reader() as con:
        sql = "select endpoint, sum(requests) from pipeline_partitions group by endpoint"
        rows = con.execute(sql).fetchall()
    return {name: int(total) for name, total in rows}


def megabytes(size: int) -> str:
    return f"{size / 2**20:.1f} MB"


def server_cpu_seconds(lake: LakeUrl) -> float:
    """CPU seconds the catalog's PostgreSQL server has used so far: the postmaster's own and its ended
    sessions' (it waits for them), read from ``/proc``. Connecting starts a session, ended by the next."""
    con = psycopg2.connect(lake.reveal())
    try:
        with con.cursor() as cur:
            cur.execute("select pg_backend_pid()")
            (backend,) = cur.fetchone()
            status = Path(f"/proc/{backend}/status").read_text()
    finally:
        con.close()
    postmaster = next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:"))
    fields = Path(f"/proc/{postmaster}/stat").read_text().rpartition(")")[2].split()
    ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def report_storage(target: Target) -> None:
    """The warehouse's size on disk; for a lake, its files and what the backfill asked of the catalog."""
    if target.lake is None:
        path = DataPaths(target.data_dir).warehouse
        size = path.stat().st_size if path.is_file() else 0
        print(f"  warehouse on disk          {megabytes(size)} ({path.name})")
        return
    cpu = server_cpu_seconds(target.lake) - target.lake_cpu_before
    print(f"  catalog server CPU time    {duration(cpu)} (PostgreSQL's ended sessions, since the start)")
    files = [p for p in Path(target.lake.data_path).rglob("*") if p.is_file()]
    data = sum(p.stat().st_size for p in files)
    con = psycopg2.connect(target.lake.reveal())
    try:
        with con.cursor() as cur:
            cur.execute(
                "select pg_database_size(datname), sessions, xact_commit, xact_rollback, "
                "tup_returned + tup_fetched, tup_inserted + tup_updated + tup_deleted "
                "from pg_stat_database where datname = current_database()"
            )
            catalog, sessions, commits, rollbacks, read, written = cur.fetchone()
    finally:
        con.close()
    print(f"  lake data path             {megabytes(data)} in {len(files):,} files")
    print(f"  lake catalog (PostgreSQL)  {megabytes(catalog)}")
    print(
        f"  catalog activity           {sessions:,} sessions, {commits:,} commits, {rollbacks:,} rollbacks, "
        f"{read:,} rows read, {written:,} rows written"
    )


def duration(seconds: float) -> str:
    """``3m07.2s``."""
    minutes, secs = divmod(seconds, 60)
    return f"{int(minutes)}m{secs:04.1f}s"


def report_single(
    run: Run, minimum: RequestPlan, args: argparse.Namespace, target: Target, every: RequestPlan
) -> None:
    """The single backfill's figures against the minimum (and against fetching every endpoint)."""
    sent = len(run.answers)
    limited = sum(1 for a in run.answers if a.status == 429)
    print(f"\nOne backfill ({target.kind})")
    print(f"  exit code                  {run.exit_codes[0]}")
    print(f"  requests sent              {sent}")
    print(f"  fetching every endpoint    {every.total}")
    print(f"  sent / every endpoint      {sent / every.total:.3f}")
    if minimum is not every:
        print(
            f"  derived days               {minimum.derived_days} ({minimum.empty_days} empty by dau-count)"
        )
    print(f"  minimum possible           {minimum.total}")
    print(f"  sent / minimum             {sent / minimum.total:.3f}")
    print(
        f"  projected at 10/min        {duration(sent * 6.0)} (every endpoint: {duration(every.total * 6.0)})"
    )
    rate = achieved_rate(run.answers, args.burst, args.rpm)
    print(f"  rate after the burst       {rate:.3f} of {args.rpm:g}/min")
    print(f"  429 responses              {limited}")
    print(f"  wall time                  {duration(run.seconds)}")
    print(f"  peak memory (child RSS)    {run.peak_rss_mb:.0f} MB")
    print(f"  CPU time (child)           {duration(run.cpu_seconds)}")
    report_storage(target)
    report_difference(sent_by_endpoint(run.answers), minimum, recorded_by_endpoint(target.warehouse()))


def report_difference(sent: Counter[str], minimum: RequestPlan, recorded: dict[str, int]) -> None:
    """Per endpoint, where the pipeline sent more (or fewer) than the minimum."""
    names = [*minimum.requests, *(n for n in sent if n not in minimum.requests)]
    different = [n for n in names if sent.get(n, 0) != minimum.requests.get(n, 0)]
    if not different:
        print("  every endpoint sent exactly its minimum")
        return
    # On the 2nd of a month the current month's monthly pass is a one-day range: the same request as
    # that day's user-activity, which the sandbox cannot tell apart. The pipeline's own records can.
    alike = (USER_ACTIVITY.name, MONTHLY)
    if (
        set(different) <= set(alike)
        and sum(sent.get(n, 0) for n in alike) == sum(minimum.requests.get(n, 0) for n in alike)
        and all(recorded.get(n, 0) == minimum.requests.get(n, 0) for n in alike)
    ):
        print("  every endpoint sent exactly its minimum (as recorded: the current month is one day")
        print("  so far, and its monthly request is the same as that day's user-activity request)")
        return
    if set(different) <= {CHECKS, "dau", USER_ACTIVITY.name}:
        print("  (a check's pages are planned from the month's users; dau and user-activity above the plan")
        print("  are days that failed a check and were fetched)")
    print(f"  NOT the minimum: {sum(sent.values()) - minimum.total:+d} requests")
    print(f"    {'endpoint':<24} {'sent':>7} {'minimum':>8} {'diff':>6} {'recorded':>9}")
    for name in different:
        got, least = sent.get(name, 0), minimum.requests.get(name, 0)
        print(f"    {name:<24} {got:>7} {least:>8} {got - least:>+6} {recorded.get(name, 0):>9}")


def report_concurrent(run: Run, args: argparse.Namespace, target: Target) -> None:
    """The combined figures of the backfills run at once, window by window against the limit."""
    times = [a.at for a in run.answers]
    rate = args.rpm / 60
    print(f"\nTwo backfills at once (same token, same data directory; {target.kind})")
    print(f"  exit codes                 {run.exit_codes}")
    print(f"  requests sent              {len(times)}")
    span = times[-1] - times[0] if times else 0.0
    for window in (*WINDOWS, span):
        limit = args.burst + rate * window
        most = max_in_window(times, window)
        verdict = "ok" if most <= limit else "OVER THE LIMIT"
        print(f"  max in any {window:>6.1f}s window {most:>6} (limit {limit:.1f}) {verdict}")
    print(f"  429 responses              {sum(1 for a in run.answers if a.status == 429)}")
    rate_achieved = achieved_rate(run.answers, args.burst, args.rpm)
    print(f"  combined rate after burst  {rate_achieved:.3f} of {args.rpm:g}/min")
    print(f"  wall time                  {duration(run.seconds)}")
    print(f"  peak memory (child RSS)    {run.peak_rss_mb:.0f} MB")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The organisation, range and rate; small defaults that finish in a few minutes."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--service-accounts", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--days", type=int, default=120, help="days ending yesterday (UTC)")
    parser.add_argument("--rpm", type=float, default=600.0, help="the sandbox's and the client's rate")
    parser.add_argument("--burst", type=int, default=20)
    parser.add_argument("--skip-concurrent", action="store_true", help="only the single backfill")
    parser.add_argument(
        "--warehouse",
        nargs="+",
        choices=WAREHOUSES,
        default=["file"],
        help="where to load, one after the other: the data directory's file, a DuckLake on PostgreSQL",
    )
    parser.add_argument(
        "--repeats", type=int, default=5, help="timed runs of each macro query (after one untimed run)"
    )
    parser.add_argument("--skip-macros", action="store_true", help="no macro query times")
    parser.add_argument("--no-derive", action="store_true", help="backfill with --no-derive (every endpoint)")
    parser.add_argument(
        "--unattributed-share",
        type=float,
        default=0.0,
        help="the sandbox leaves this share of activity rows out of editor-language (a fault)",
    )
    parser.add_argument(
        "--compare-fetched",
        action="store_true",
        help="also backfill with --no-derive and compare the two warehouses table by table",
    )
    parser.add_argument(
        "--rebuild",
        action="store_true",
        help="then delete the warehouse and time `analytics-pipeline rebuild`",
    )
    parser.add_argument("--keep", type=Path, help="copy the single backfill's data directory here")
    return parser.parse_args(argv)


def minimum_plans(
    org: SyntheticOrg, start: dt.date, end: dt.date, today: dt.date, derive: bool
) -> tuple[RequestPlan, RequestPlan]:
    """The fewest requests that load the range (deriving, with no day failing a check, unless
    ``derive`` is off), and those that fetch every endpoint: the planner over the sandbox's own
    numbers."""
    counts, monthly = counts_from_org(org, start, end, today=today)
    days = days_between(start, end)
    every = plan_requests(days, counts, monthly_users=monthly, snapshots=1)
    if not derive:
        return every, every
    final = set(final_days(days, today, DEFAULT_RECHECK_DAYS))
    windows = check_windows(days, final, frozenset(), today)
    # A check asks for the window's users, not the month's: counted exactly here.
    window_users = {month: len(org.user_activity(*window)) for month, window in windows.items()}
    derived = plan_requests(
        days, counts, monthly_users=monthly, snapshots=1, derivation=Derivation(final, 0.0, windows)
    )
    derived.requests[CHECKS] = sum(max(1, -(-users // 100)) for users in window_users.values())
    return derived, every


def table_digests(warehouse: WarehouseDoors) -> dict[str, tuple[int, int]]:
    """Per fact table and dim_users: rows and an order-independent digest of their values (what the
    pipeline records of itself, pipeline_partitions, left out)."""
    with warehouse.reader() as con:
        return {
            table: con.execute(
                f"select count(*), coalesce(sum(hash(t::varchar)), 0) from {table} as t"
            ).fetchall()[0]
            for table in TABLES
        }


def compare_digests(name: str, a: dict[str, tuple[int, int]], b: dict[str, tuple[int, int]]) -> bool:
    """Print whether two warehouses hold the same tables; True when they do."""
    different = [t for t in TABLES if a[t] != b[t]]
    print(f"  {name:<26} {'yes' if not different else 'NO: ' + ', '.join(different)}")
    return not different


class PeakWatch:
    """The child's own peak RSS (``VmHWM``, which exec resets), sampled until it exits. ``wait4``'s
    ``ru_maxrss`` counts, besides, the memory of the process that spawned it as it was at the spawn: this
    one's, which holds the sandbox and is larger than a rebuild by then."""

    def __init__(self, pid: int) -> None:
        self._path = Path(f"/proc/{pid}/status")
        self._peak = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        while not self._done.wait(0.05):
            try:
                text = self._path.read_text()
            except OSError:
                return
            for line in text.splitlines():
                if line.startswith("VmHWM:"):
                    self._peak = max(self._peak, int(line.split()[1]))

    def stop(self) -> float:
        """The peak seen, in MB."""
        self._done.set()
        self._thread.join()
        return self._peak / 1024


def time_rebuild(target: Target, env: dict[str, str]) -> bool:
    """Delete the target's warehouse, run ``analytics-pipeline rebuild``, and report; True when it
    rebuilt the same tables."""
    before = table_digests(target.warehouse())
    (target.data_dir / "warehouse.duckdb").unlink()
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "analytics_pipeline.cli", "rebuild"],
        env={**env, "AUGMENT_API_TOKEN": ""},
        cwd=target.data_dir.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    peak = PeakWatch(process.pid)
    lines = process.stdout.readlines()
    code, _, cpu = wait_for(process)
    seconds = time.monotonic() - started
    peak_mb = peak.stop()
    print(f"\nRebuild from raw ({target.kind}), no request")
    print(f"  exit code                  {code}")
    print(f"  {lines[-1].strip() if lines else ''}")
    print(f"  wall time                  {duration(seconds)}")
    print(f"  peak memory (child VmHWM)  {peak_mb:.0f} MB")
    print(f"  CPU time (child)           {duration(cpu)}")
    for line in lines:
        if "needed more" in line:
            print(f"  {line.strip()}")
    return (
        compare_digests("same tables as backfilled", before, table_digests(target.warehouse())) and not code
    )


def macro_queries(start: dt.date, end: dt.date) -> list[tuple[str, str, str, list[object]]]:
    """Every analysis macro (``MACROS``) called as a user would, over the range's last
    :data:`RECENT_DAYS` days and over the whole range: (macro, window, SQL, parameters).
    ``budget_utilisation`` takes a month: the range's last month, once."""
    recent = max(start, end - dt.timedelta(days=RECENT_DAYS - 1))
    windows = [(f"last {(end - recent).days + 1} days", recent), (f"{(end - start).days + 1} days", start)]
    queries: list[tuple[str, str, str, list[object]]] = []
    for name in MACROS:
        if name == "budget_utilisation":
            month = end.replace(day=1)
            queries.append((name, f"month {month:%Y-%m}", f"select * from {name}(?)", [month]))
            continue
        grain = ["week"] if name.endswith("_timeseries") else []
        marks = ", ".join("?" * (len(grain) + 2))
        for window, first in windows:
            queries.append((name, window, f"select * from {name}({marks})", [*grain, first, end]))
    return queries


def time_macros(
    warehouse: WarehouseDoors, queries: Sequence[tuple[str, str, str, list[object]]], repeats: int
) -> tuple[float, list[tuple[float, float]]]:
    """Seconds to open a reader, and each query's (first run, median of ``repeats`` more) seconds,
    all on one reader connection."""
    clock = time.perf_counter()
    with warehouse.reader() as con:
        opened = time.perf_counter() - clock
        times = []
        for _, _, sql, params in queries:
            runs = []
            for _ in range(repeats + 1):
                clock = time.perf_counter()
                con.execute(sql, params).fetchall()
                runs.append(time.perf_counter() - clock)
            times.append((runs[0], statistics.median(runs[1:]) if repeats else float("nan")))
    return opened, times


def report_macros(targets: Sequence[Target], start: dt.date, end: dt.date, repeats: int) -> None:
    """Each macro query's median time on every target's warehouse, side by side."""
    queries = macro_queries(start, end)
    print(f"\nMacro query times (seconds: first run, then the median of {repeats} more; one reader each)")
    results = []
    for target in targets:
        print(f"  timing on the {target.kind}...", flush=True)
        results.append(time_macros(target.warehouse(), queries, repeats))
    kinds = [t.kind for t in targets]
    header = "".join(f" {kind + ' first':>11} {kind + ' median':>12}" for kind in kinds)
    ratio = len(targets) == 2
    if ratio:
        header += f" {kinds[1] + '/' + kinds[0]:>10}"
    print(f"  {'macro':<22} {'window':<14}{header}")
    opened = "".join(f" {result[0]:>11.3f} {'':>12}" for result in results)
    print(f"  {'(open a reader)':<22} {'':<14}{opened}")
    for i, (name, window, _, _) in enumerate(queries):
        cells = "".join(f" {r[1][i][0]:>11.3f} {r[1][i][1]:>12.3f}" for r in results)
        share = f" {results[1][1][i][1] / results[0][1][i][1]:>10.1f}x" if ratio else ""
        print(f"  {name:<22} {window:<14}{cells}{share}")
    if ratio:
        total = [sum(median for _, median in r[1]) for r in results]
        cells = "".join(f" {'':>11} {t:>12.3f}" for t in total)
        print(f"  {'(all medians)':<22} {'':<14}{cells} {total[1] / total[0]:>10.1f}x")


def halves(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    middle = start + (end - start) / 2
    return [(start, middle), (middle + dt.timedelta(days=1), end)]


def main(argv: Sequence[str] | None = None) -> int:
    """Both scenarios against one sandbox; returns the exit code."""
    args = parse_args(argv)
    today = utc_today()
    end = yesterday(today)
    start = max(end - dt.timedelta(days=args.days - 1), reachable_floor(today))
    org = SyntheticOrg(
        seed=args.seed,
        people=args.people,
        service_accounts=args.service_accounts,
        unattributed_share=args.unattributed_share,
    )
    print(
        f"Backfill benchmark: {args.people} people + {args.service_accounts} service accounts "
        f"(seed {args.seed}), {start}..{end} ({(end - start).days + 1} days), "
        f"{args.rpm:g} requests/minute, burst {args.burst}"
        + (
            f", {args.unattributed_share:.0%} of activity rows without an editor"
            if args.unattributed_share
            else ""
        )
        + (", --no-derive" if args.no_derive else "")
    )
    clock = time.monotonic()
    minimum, every = minimum_plans(org, start, end, today, derive=not args.no_derive)
    seconds = time.monotonic() - clock
    print(f"Minimum requests from the sandbox's own numbers: {minimum.total} ({seconds:.1f}s to count)")
    print("  " + ", ".join(f"{name} {n}" for name, n in minimum.requests.items()))
    if minimum is not every:
        print(f"Fetching every endpoint instead: {every.total}")
    extra = ("--no-derive",) if args.no_derive else ()

    recorder = Recorder()
    failed = False
    loaded: list[Target] = []
    with ExitStack() as stack:
        server = stack.enter_context(
            SandboxServer(org, tokens=(TOKEN,), requests_per_minute=args.rpm, burst=args.burst)
        )
        server.before_response = recorder
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="backfill-benchmark-")))
        postgres = stack.enter_context(PostgresServer()) if "lake" in args.warehouse else None
        refill = args.burst * 60 / args.rpm  # the sandbox's bucket refills, as for a new token
        for kind in dict.fromkeys(args.warehouse):
            if loaded:
                time.sleep(refill)
            single_target = new_target(kind, tmp / kind / "single", postgres)
            print(f"\nRunning one backfill ({kind})...")
            single = run_backfills(server, recorder, args, single_target, [(start, end)], extra)
            report_single(single, minimum, args, single_target, every)
            failed = failed or any(single.exit_codes)
            loaded.append(single_target)
            if args.compare_fetched:
                time.sleep(refill)
                fetched_target = new_target(kind, tmp / kind / "fetched", postgres)
                print(f"\nRunning one backfill with --no-derive ({kind}), to compare...")
                fetched = run_backfills(
                    server, recorder, args, fetched_target, [(start, end)], ["--no-derive"]
                )
                print(f"  requests sent              {len(fetched.answers)} (every endpoint: {every.total})")
                same = compare_digests(
                    "same tables as fetched",
                    table_digests(single_target.warehouse()),
                    table_digests(fetched_target.warehouse()),
                )
                failed = failed or any(fetched.exit_codes) or not same
            if args.keep:
                shutil.copytree(single_target.data_dir, args.keep)
            if args.rebuild and kind == "file":
                env = backfill_env(server, args, single_target, start)
                failed = not time_rebuild(single_target, env) or failed
            if not args.skip_concurrent:
                time.sleep(refill)
                both_target = new_target(kind, tmp / kind / "both", postgres)
                ranges = halves(start, end)
                shown = " and ".join(f"{lo}..{hi}" for lo, hi in ranges)
                print(f"\nRunning two backfills at once ({kind}): {shown}...")
                both = run_backfills(server, recorder, args, both_target, ranges)
                report_concurrent(both, args, both_target)
                failed = failed or any(both.exit_codes)
        if not args.skip_macros and not failed:
            report_macros(loaded, start, end, args.repeats)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
