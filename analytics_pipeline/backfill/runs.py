"""Run the Dagster job in-process: what ``backfill``, ``nightly`` and ``demo`` share.

The same assets the schedule runs, through Dagster, in this process. A backfill is split into runs
ordered so the warehouse is useful long before it is complete:

1. **coarse**: dau-count, daily-usage, the monthly user-activity and one budget snapshot, for the
   whole range (a few requests per 90 days, or per month): two years of organisation-wide and
   per-user monthly history within minutes;
2. then, newest 90-day window first, **credit** usage for the window and the per-day **detail**
   endpoints (dau, user-activity, editor-language) in runs of 30 days, newest first.

Days the warehouse already holds are left out of every run, and each run asks the raw assets to skip
partitions already on disk, so a stopped backfill resumes where it left off without fetching a
completed day, window or month again.

Each step is two runs: the raw assets (fetching), in one of two fetching threads (see
:data:`FETCH_WORKERS`), then the fact tables and ``dim_users`` (loading), in one loading thread, while
other steps fetch. Loading and Dagster's bookkeeping take seconds a run; done in turn with fetching,
they would leave the rate-limit budget idle.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import dagster as dg

from analytics_pipeline.api.endpoints import (
    ASSET_ENDPOINTS,
    BUDGET_OVERRIDES,
    CREDIT_USAGE,
    DAILY_USAGE,
    DAU,
    DAU_COUNT,
    EDITOR_LANGUAGE,
    LANDED,
    USER_ACTIVITY,
    USER_ACTIVITY_MONTHLY,
    Endpoint,
)
from analytics_pipeline.dates import (
    MAX_RANGE_DAYS,
    contiguous_windows,
    days_between,
    month_start,
    reachable_floor,
    utc_today,
)
from analytics_pipeline.defs.assets.raw import raw_asset_key
from analytics_pipeline.defs.assets.warehouse import DIM_USERS_KEY, fact_asset_key
from analytics_pipeline.defs.dagster_private import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)
from analytics_pipeline.defs.jobs import ANALYTICS_JOB
from analytics_pipeline.defs.partitions import SKIP_LANDED_TAG
from analytics_pipeline.landing import RawStore, month_is_current
from analytics_pipeline.runtime.memory import release_unused_memory
from analytics_pipeline.warehouse import Warehouse

# The command line reports progress and the root cause of a failure in one line of its own; Dagster's
# console logger would add every step failure's full stack trace. The UI and event log keep everything.
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}

COARSE: tuple[Endpoint, ...] = (DAU_COUNT, DAILY_USAGE, USER_ACTIVITY_MONTHLY, BUDGET_OVERRIDES)
CREDIT: tuple[Endpoint, ...] = (CREDIT_USAGE,)
DETAIL: tuple[Endpoint, ...] = (DAU, USER_ACTIVITY, EDITOR_LANGUAGE)
COARSE_RUN_DAYS = 2 * MAX_RANGE_DAYS
"""Coarse runs cover whole 90-day windows (so they cost no extra request) but not two years at once:
a run's bookkeeping grows with its partitions, and memory should not grow with the backfill."""
DETAIL_RUN_DAYS = 30
"""Per-day endpoints cost about a request per endpoint per page per day; 30 days keeps each run short
enough that the newest month is queryable early, and the per-run overhead small."""

LOADED_SQL = """
select endpoint, date
from pipeline_partitions
where date between $start and $end and list_contains($endpoints, endpoint)
"""

LOADED_MONTHS_SQL = """
select date, window_end
from pipeline_partitions
where endpoint = $endpoint and date between $start and $end
"""


@dataclass(frozen=True)
class Step:
    """One in-process run: some endpoints' raw and fact assets over ``start..end``."""

    phase: str
    endpoints: tuple[Endpoint, ...]
    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def fetch_keys(self) -> list[dg.AssetKey]:
        return [raw_asset_key(e) for e in self.endpoints]

    def load_keys(self) -> list[dg.AssetKey]:
        return [*(fact_asset_key(e) for e in self.endpoints), DIM_USERS_KEY]

    def asset_keys(self) -> list[dg.AssetKey]:
        return [*self.fetch_keys(), *self.load_keys()]


def loaded_pairs(warehouse: Warehouse, start: dt.date, end: dt.date) -> set[tuple[str, dt.date]]:
    """(endpoint, day) pairs in ``start..end`` the warehouse holds, for the daily endpoints."""
    if not warehouse.path.is_file():
        return set()
    params = {"start": start, "end": end, "endpoints": [e.name for e in LANDED]}
    with warehouse.writer() as con:
        return {(name, day) for name, day in con.execute(LOADED_SQL, params).fetchall()}


def loaded_days(
    warehouse: Warehouse, start: dt.date, end: dt.date, endpoints: Sequence[Endpoint] = ASSET_ENDPOINTS
) -> set[dt.date]:
    """Days in ``start..end`` for which every daily endpoint (of ``endpoints``) is in the warehouse."""
    pairs = loaded_pairs(warehouse, start, end)
    daily = _daily(endpoints)
    return {day for day in days_between(start, end) if all((e.name, day) in pairs for e in daily)}


def _daily(endpoints: Sequence[Endpoint]) -> list[Endpoint]:
    """The daily-partitioned endpoints among ``endpoints`` (their days say whether a day is loaded)."""
    names = {e.name for e in endpoints}
    return [e for e in LANDED if e.name in names]


def months_done(
    warehouse: Warehouse, store: RawStore, months: Sequence[dt.date], today: dt.date
) -> set[dt.date]:
    """Months whose monthly partition is current on disk *and* loaded as landed.

    Current on disk is not enough: a run killed between landing a month and loading it leaves the
    warehouse without it (or with an older window of it), and the month would never be loaded again.
    """
    endpoint = USER_ACTIVITY_MONTHLY
    current = [m for m in months if month_is_current(store, endpoint, m, today)]
    if not current or not warehouse.path.is_file():
        return set()
    params = {"endpoint": endpoint.name, "start": min(current), "end": max(current)}
    with warehouse.writer() as con:
        loaded = dict(con.execute(LOADED_MONTHS_SQL, params).fetchall())
    return {m for m in current if loaded.get(m) == _window_end(store, endpoint, m)}


def _window_end(store: RawStore, endpoint: Endpoint, month: dt.date) -> dt.date | None:
    window_end = store.info(endpoint, month).window_end
    return dt.date.fromisoformat(window_end) if window_end else None


def _todo(
    endpoints: Iterable[Endpoint], days: Sequence[dt.date], loaded: set[tuple[str, dt.date]]
) -> list[dt.date]:
    return [d for d in days if any((e.name, d) not in loaded for e in endpoints)]


def plan_steps(
    days: Sequence[dt.date],
    loaded: set[tuple[str, dt.date]],
    months_current: set[dt.date],
    endpoints: Sequence[Endpoint] = ASSET_ENDPOINTS,
) -> list[Step]:
    """The runs of a backfill of ``endpoints`` over ``days``, given what is loaded and which months
    are current (landed up to date and loaded: see :func:`months_done`)."""
    names = {e.name for e in endpoints}
    coarse_endpoints = tuple(e for e in COARSE if e.name in names)
    credit_endpoints = tuple(e for e in CREDIT if e.name in names)
    detail_endpoints = tuple(e for e in DETAIL if e.name in names)
    steps: list[Step] = []
    coarse = set(_todo([e for e in coarse_endpoints if not e.monthly], days, loaded))
    if USER_ACTIVITY_MONTHLY in coarse_endpoints:
        coarse |= {d for d in days if month_start(d) not in months_current}
    for start, end in contiguous_windows(sorted(coarse), COARSE_RUN_DAYS):
        steps.append(Step("coarse", coarse_endpoints, start, end))
    credit = set(_todo(credit_endpoints, days, loaded))
    detail = set(_todo(detail_endpoints, days, loaded))
    for lo, hi in contiguous_windows(sorted(credit | detail), MAX_RANGE_DAYS):
        window = set(days_between(lo, hi))
        for start, end in contiguous_windows(sorted(credit & window), MAX_RANGE_DAYS):
            steps.append(Step("credit", credit_endpoints, start, end))
        for start, end in contiguous_windows(sorted(detail & window), DETAIL_RUN_DAYS):
            steps.append(Step("detail", detail_endpoints, start, end))
    return steps


def instance_for_cli() -> dg.DagsterInstance:
    """The persistent instance when ``DAGSTER_HOME`` is set (runs then show in the UI), else ephemeral."""
    return dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()


def execute_range(
    defs: dg.Definitions,
    start: dt.date,
    end: dt.date,
    instance: dg.DagsterInstance,
    *,
    asset_selection: Sequence[dg.AssetKey] | None = None,
    skip_landed: bool = False,
) -> dg.ExecuteInProcessResult:
    """One run of the job over the partitions ``start..end``; raises on the first failed step."""
    job = defs.resolve_job_def(ANALYTICS_JOB)
    tags = {
        ASSET_PARTITION_RANGE_START_TAG: start.isoformat(),
        ASSET_PARTITION_RANGE_END_TAG: end.isoformat(),
    }
    if skip_landed:
        tags[SKIP_LANDED_TAG] = "true"
    return job.execute_in_process(
        run_config=QUIET_RUN_CONFIG, instance=instance, tags=tags, asset_selection=asset_selection
    )


def requests_of(result: dg.ExecuteInProcessResult) -> int:
    """API requests a run sent, from its raw assets' materialization metadata.

    A run over many partitions reports the same metadata once per partition, so each asset counts once.
    """
    per_asset: dict[dg.AssetKey, int] = {}
    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        requests = materialization.metadata.get("requests")
        if requests is not None:
            per_asset[materialization.asset_key] = int(requests.value)
    return sum(per_asset.values())


@dataclass(frozen=True)
class Progress:
    """Where a backfill stands after one of its runs."""

    step: Step
    steps_done: int
    steps_total: int
    days_done: int
    days_total: int
    requests: int
    elapsed: float

    @property
    def rate_per_minute(self) -> float:
        return self.requests / self.elapsed * 60 if self.elapsed > 0 else 0.0

    @property
    def eta_seconds(self) -> float:
        """Time left, from the time each step has taken so far (per day of the steps done)."""
        if not self.steps_done:
            return float("nan")
        return self.elapsed / self.steps_done * (self.steps_total - self.steps_done)


class _Loads:
    """Runs the load half of each step in one worker thread, in order; the first failure is kept."""

    def __init__(self, work: Callable[[Step, dt.date], None]) -> None:
        self._work = work
        self._queue: queue.Queue[tuple[Step, dt.date] | None] = queue.Queue()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="backfill-loads", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self.error is None:
                try:
                    self._work(*item)
                except BaseException as exc:  # raised by finish(), in the calling thread
                    self.error = exc

    def submit(self, step: Step, run_start: dt.date) -> None:
        self._queue.put((step, run_start))

    def finish(self) -> None:
        """Wait for every submitted load; raise the first one that failed."""
        self._queue.put(None)
        self._thread.join()
        if self.error is not None:
            raise self.error


FETCH_WORKERS = 2
"""Fetching runs in flight at once. One run alone leaves the budget idle between its requests and the
next run's (Dagster's bookkeeping at a run's end and start, a 90-day window's partitions written
after its last page); a second run sends meanwhile. The shared limiter keeps their sum within the
rate, so two cost no request and no 429, only the second run's memory."""


class _Fetches:
    """Hands steps to fetching threads in order, never two coarse steps at once.

    Coarse steps share calendar months (the monthly pass lands a month whose days two steps split)
    and the budget snapshot: one after the other, the second finds them landed and skips them, where
    two at once would both fetch. Other steps share no partition: their days are disjoint.
    """

    def __init__(self, steps: Sequence[Step]) -> None:
        self._pending = list(steps)
        self._in_flight: list[Step] = []
        self._changed = threading.Condition()
        self.error: BaseException | None = None

    def take(self) -> Step | None:
        """The next step this thread may fetch, waiting while only a conflicting one is left."""
        with self._changed:
            while self._pending and self.error is None:
                coarse_running = any(s.phase == "coarse" for s in self._in_flight)
                for i, step in enumerate(self._pending):
                    if not (coarse_running and step.phase == "coarse"):
                        self._in_flight.append(self._pending.pop(i))
                        return step
                self._changed.wait()
            return None

    def done(self, step: Step, error: BaseException | None = None) -> None:
        with self._changed:
            self._in_flight.remove(step)
            if error is not None and self.error is None:
                self.error = error
            self._changed.notify_all()


@dataclass(frozen=True)
class BackfillOutcome:
    days_total: int
    days_skipped: int
    days_expired: int
    runs: int
    requests: int
    elapsed: float


def backfill(
    defs: dg.Definitions,
    warehouse: Warehouse,
    store: RawStore,
    start: dt.date,
    end: dt.date,
    *,
    instance: dg.DagsterInstance,
    on_progress: Callable[[Progress], None] = lambda progress: None,
    clock: Callable[[], float] = time.monotonic,
    today: Callable[[], dt.date] = utc_today,
    endpoints: Sequence[Endpoint] = ASSET_ENDPOINTS,
) -> BackfillOutcome:
    """Load ``endpoints`` (every one by default) for ``start..end``: coarse history first, then
    detail newest first."""
    days = days_between(start, end)
    for endpoint in ASSET_ENDPOINTS:  # what a killed run left, in partitions this one may never land
        store.remove_stale_temporaries(endpoint)
    loaded = loaded_pairs(warehouse, start, end)
    months_current = months_done(warehouse, store, sorted({month_start(d) for d in days}), today())
    daily = _daily(endpoints)
    complete = {d for d in days if all((e.name, d) in loaded for e in daily)}
    steps = plan_steps(days, loaded, months_current, endpoints)
    started = clock()
    counts = {"sent": 0, "loaded": 0}
    expired: set[dt.date] = set()  # a set: a day beyond reach is in a coarse, a credit and a detail step
    counting = threading.Lock()

    def run(step: Step, run_start: dt.date, keys: Sequence[dg.AssetKey], skip_landed: bool = False) -> int:
        """One run; returns the requests it sent. An ephemeral instance keeps every event in an
        in-memory SQLite that only its own thread may use, so each run gets a fresh one, disposed in
        that thread: memory stays flat and the threads stay apart."""
        with contextlib.ExitStack() as stack:
            run_in = instance
            if instance.is_ephemeral:
                run_in = stack.enter_context(dg.DagsterInstance.ephemeral())
            result = execute_range(
                defs, run_start, step.end, run_in, asset_selection=keys, skip_landed=skip_landed
            )
            return requests_of(result)

    def load(step: Step, run_start: dt.date) -> None:
        run(step, run_start, step.load_keys())
        # Once a step (its fetch and its load) is over; the collector and the allocators are the
        # whole process's, so this one call serves every thread.
        release_unused_memory()
        done = loaded_days(warehouse, start, end, endpoints)
        with counting:
            counts["loaded"] += 1
            progress = Progress(
                step, counts["loaded"], len(steps), len(done), len(days), counts["sent"], clock() - started
            )
        on_progress(progress)

    def fetch(step: Step) -> None:
        # The lookback's edge day, and the oldest days of a backfill that outlives the lookback: skip them.
        floor = reachable_floor(today())
        if step.end < floor:
            with counting:
                expired.update(days_between(step.start, step.end))
            return
        run_start = max(step.start, floor)
        requests = run(step, run_start, step.fetch_keys(), skip_landed=True)
        with counting:
            expired.update(days_between(step.start, run_start - dt.timedelta(days=1)))
            counts["sent"] += requests
        loads.submit(step, run_start)

    def fetching(fetches: _Fetches) -> None:
        while loads.error is None and (step := fetches.take()) is not None:
            try:
                fetch(step)
            except BaseException as exc:  # re-raised by the calling thread
                fetches.done(step, exc)
            else:
                fetches.done(step)

    loads = _Loads(load)
    fetches = _Fetches(steps)
    try:
        workers = [
            threading.Thread(target=fetching, args=(fetches,), name=f"backfill-fetch-{n}", daemon=True)
            for n in range(FETCH_WORKERS)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    finally:
        loads.finish()
    if fetches.error is not None:
        raise fetches.error
    return BackfillOutcome(
        len(days), len(complete), len(expired), len(steps), counts["sent"], clock() - started
    )
