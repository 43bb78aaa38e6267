"""The backfill: its steps fetched in two threads and loaded in a third, with progress as each ends.

Each step (see :mod:`analytics_pipeline.backfill.steps`) is two in-process runs: the raw assets
(fetching), in one of two fetching threads (see :data:`FETCH_WORKERS`), then the fact tables and
``dim_users`` (loading), in one loading thread, while other steps fetch. Loading and Dagster's
bookkeeping take seconds a run; done in turn with fetching, they would leave the rate-limit budget idle.
"""

from __future__ import annotations

import datetime as dt
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import dagster as dg

from analytics_pipeline.api.endpoints import (
    ASSET_ENDPOINTS,
    DAU,
    EDITOR_LANGUAGE,
    USER_ACTIVITY,
    BackfillPhase,
    Endpoint,
)
from analytics_pipeline.backfill.derivation import (
    FALLBACK,
    PER_DAY,
    Derivation,
    DerivationTotals,
    WindowAnswer,
    derives,
    final_days,
    report_derived,
)
from analytics_pipeline.backfill.in_process import execute_range, instance_for_thread, requests_of
from analytics_pipeline.backfill.loaded import complete_days, loaded_days, loaded_pairs, months_done
from analytics_pipeline.backfill.reconcile import reconcile
from analytics_pipeline.backfill.steps import Step, plan_steps
from analytics_pipeline.dates import days_between, month_start, reachable_floor, utc_today
from analytics_pipeline.defs.organization_names import OrgNames
from analytics_pipeline.landing import RawStore
from analytics_pipeline.organization import DEFAULT_ORGANIZATION
from analytics_pipeline.provisional import DEFAULT_RECHECK_DAYS
from analytics_pipeline.runtime.memory import release_unused_memory
from analytics_pipeline.warehouse import WarehouseDoors

FETCH_WORKERS = 2
"""Fetching runs in flight at once. One run alone leaves the budget idle between its requests and the
next run's (Dagster's bookkeeping at a run's end and start, a 90-day window's partitions written
after its last page); a second run sends meanwhile. The shared limiter keeps their sum within the
rate, so two cost no request and no 429, only the second run's memory."""


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
        """Requests sent per minute so far."""
        return self.requests / self.elapsed * 60 if self.elapsed > 0 else 0.0

    @property
    def eta_seconds(self) -> float:
        """Time left, from the time each step has taken so far (per day of the steps done)."""
        if not self.steps_done:
            return float("nan")
        return self.elapsed / self.steps_done * (self.steps_total - self.steps_done)


@dataclass(frozen=True)
class BackfillOutcome:
    """What a backfill did: its days (skipped as loaded, or beyond the API's reach), runs and requests."""

    days_total: int
    days_skipped: int
    days_expired: int
    runs: int
    requests: int
    elapsed: float
    derivation: DerivationTotals = field(default_factory=DerivationTotals)
    """Days derived from editor-language, and days the checks sent back to be fetched."""


class _Loads:
    """Runs the load half of each step in one worker thread, in order; the first failure is kept."""

    def __init__(self, work: Callable[[Step, dt.date], None]) -> None:
        self._work = work
        self._queue: queue.Queue[tuple[Step, dt.date] | None] = queue.Queue()
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="backfill-loads", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        """The loading thread: each submitted load in turn, none after the first failure."""
        while (item := self._queue.get()) is not None:
            if self.error is None:
                try:
                    self._work(*item)
                except BaseException as exc:  # raised by finish(), in the calling thread
                    self.error = exc

    def submit(self, step: Step, run_start: dt.date) -> None:
        """Queue the load of a fetched step."""
        self._queue.put((step, run_start))

    def finish(self) -> None:
        """Wait for every submitted load; raise the first one that failed."""
        self._queue.put(None)
        self._thread.join()
        if self.error is not None:
            raise self.error


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
                coarse_running = any(s.phase is BackfillPhase.COARSE for s in self._in_flight)
                for i, step in enumerate(self._pending):
                    if not (coarse_running and step.phase is BackfillPhase.COARSE):
                        self._in_flight.append(self._pending.pop(i))
                        return step
                self._changed.wait()
            return None

    def done(self, step: Step, error: BaseException | None = None) -> None:
        """A fetching thread is through with ``step``; the first error stops the others taking more."""
        with self._changed:
            self._in_flight.remove(step)
            if error is not None and self.error is None:
                self.error = error
            self._changed.notify_all()


class _Backfill:
    """One backfill under way: its runs, fetched and loaded in threads, and the counters they share."""

    def __init__(
        self,
        defs: dg.Definitions,
        warehouse: WarehouseDoors,
        instance: dg.DagsterInstance,
        start: dt.date,
        end: dt.date,
        endpoints: Sequence[Endpoint],
        names: OrgNames,
        *,
        on_progress: Callable[[Progress], None],
        clock: Callable[[], float],
        today: Callable[[], dt.date],
    ) -> None:
        self._defs = defs
        self.warehouse = warehouse
        self.instance = instance
        self.start, self.end = start, end
        self._days_total = len(days_between(start, end))
        self.progress_endpoints = endpoints
        """The endpoints a day must have loaded to count as done in the progress lines."""
        self._names = names
        self._steps_total = 0
        self._on_progress = on_progress
        self._clock = clock
        self._today = today
        self._counting = threading.Lock()
        self.requests = 0
        self.loads_done = 0
        # A set: a day beyond reach is in a coarse, a credit and a detail step.
        self.expired: set[dt.date] = set()
        self.started = clock()

    @property
    def runs(self) -> int:
        """Steps planned so far, over every round."""
        return self._steps_total

    def elapsed(self) -> float:
        """Seconds since the runs began."""
        return self._clock() - self.started

    def run_all(self, steps: Sequence[Step]) -> None:
        """Fetch ``steps`` in :data:`FETCH_WORKERS` threads, load each in turn; raise the first failure."""
        if not steps:
            return
        self._steps_total += len(steps)
        self._loads = _Loads(self._load)
        fetches = _Fetches(steps)
        try:
            workers = [
                threading.Thread(
                    target=self._fetching, args=(fetches,), name=f"backfill-fetch-{n}", daemon=True
                )
                for n in range(FETCH_WORKERS)
            ]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
        finally:
            self._loads.finish()
        if fetches.error is not None:
            raise fetches.error

    def _fetching(self, fetches: _Fetches) -> None:
        """One fetching thread: take steps and fetch them until none is left or a run failed."""
        while self._loads.error is None and (step := fetches.take()) is not None:
            try:
                self._fetch(step)
            except BaseException as exc:  # re-raised by the calling thread
                fetches.done(step, exc)
            else:
                fetches.done(step)

    def _fetch(self, step: Step) -> None:
        """The fetching half of ``step``, then its load queued; days beyond the API's reach are counted."""
        # The lookback's edge day, and the oldest days of a backfill that outlives the lookback: skip them.
        floor = reachable_floor(self._today())
        if step.end < floor:
            with self._counting:
                self.expired.update(days_between(step.start, step.end))
            return
        run_start = max(step.start, floor)
        requests = self._run(step, run_start, step.fetch_keys())
        with self._counting:
            self.expired.update(days_between(step.start, run_start - dt.timedelta(days=1)))
            self.requests += requests
        self._loads.submit(step, run_start)

    def _load(self, step: Step, run_start: dt.date) -> None:
        """The loading half of ``step``, then the backfill's progress reported."""
        self._run(step, run_start, step.load_keys())
        # Once a step (its fetch and its load) is over; the collector and the allocators are the
        # whole process's, so this one call serves every thread.
        release_unused_memory()
        done = loaded_days(
            self.warehouse,
            self.start,
            self.end,
            self.progress_endpoints,
            organization=self._names.organization,
        )
        with self._counting:
            self.loads_done += 1
            progress = Progress(
                step,
                self.loads_done,
                self._steps_total,
                len(done),
                self._days_total,
                self.requests,
                self.elapsed(),
            )
        self._on_progress(progress)

    def _run(self, step: Step, run_start: dt.date, keys: Sequence[dg.AssetKey]) -> int:
        """One run; returns the requests it sent (in an instance of this thread's: see
        :func:`instance_for_thread`)."""
        with instance_for_thread(self.instance) as run_in:
            result = execute_range(
                self._defs,
                run_start,
                step.end,
                run_in,
                asset_selection=keys,
                job_name=self._names.job,
            )
            return requests_of(result)


def backfill(
    defs: dg.Definitions,
    warehouse: WarehouseDoors,
    store: RawStore,
    start: dt.date,
    end: dt.date,
    *,
    instance: dg.DagsterInstance,
    on_progress: Callable[[Progress], None] = lambda progress: None,
    clock: Callable[[], float] = time.monotonic,
    today: Callable[[], dt.date] = utc_today,
    endpoints: Sequence[Endpoint] = ASSET_ENDPOINTS,
    organization: str = DEFAULT_ORGANIZATION,
    derive: bool = False,
    window_answer: WindowAnswer | None = None,
    recheck_days: int = DEFAULT_RECHECK_DAYS,
) -> BackfillOutcome:
    """Load ``endpoints`` (every one by default) of ``organization`` (whose raw store ``store`` is) for
    ``start..end``: coarse history first, then detail newest first.

    ``derive``: final days' dau and user-activity are derived from editor-language where the checks
    accept them, and fetched where they do not (see :mod:`.derivation`); ``window_answer`` asks the API
    for the backfill's part of a month whose other days are not loaded (without it, such days are
    fetched); ``recheck_days`` says which days are final.
    """
    names = OrgNames(organization)
    days = days_between(start, end)
    for endpoint in ASSET_ENDPOINTS:  # what a killed run left, in partitions this one may never land
        store.remove_stale_temporaries(endpoint)
    warehouse.recover()  # what killed writers left, though this run may open no writer
    loaded = loaded_pairs(warehouse, start, end, organization=organization)
    months = sorted({month_start(d) for d in days})
    months_current = months_done(warehouse, store, months, today(), organization=organization)
    complete = complete_days(days, loaded, endpoints)
    run = _Backfill(
        defs,
        warehouse,
        instance,
        start,
        end,
        endpoints,
        names,
        on_progress=on_progress,
        clock=clock,
        today=today,
    )
    derivation = None
    if derive and derives(endpoints):
        derivation = Derivation(warehouse, store, organization, (start, end), window_answer)
        _derive_and_fetch(
            run, derivation, days, loaded, months_current, endpoints, names, today(), recheck_days
        )
    else:
        run.run_all(plan_steps(days, loaded, months_current, endpoints, names))
    totals = derivation.totals if derivation else DerivationTotals()
    if run.runs:
        reconcile(defs, instance, names, start, end)
    return BackfillOutcome(
        len(days),
        len(complete),
        len(run.expired),
        run.runs,
        run.requests + totals.requests,
        run.elapsed(),
        totals,
    )


def _derive_and_fetch(
    run: _Backfill,
    derivation: Derivation,
    days: list[dt.date],
    loaded: set[tuple[str, dt.date]],
    months_current: set[dt.date],
    endpoints: Sequence[Endpoint],
    names: OrgNames,
    today: dt.date,
    recheck_days: int,
) -> None:
    """The backfill's rounds when final days are derived: the coarse and credit passes (and every
    endpoint of the provisional days); final days dau-count reports empty derived; editor-language for
    the others; then each pass derives what the checks accept and fetches the rest from dau and
    user-activity, until every day is loaded."""
    final = set(final_days(days, today, recheck_days))
    # A day's dau and user-activity are derived after its fetches, in seconds: the progress lines count
    # a day done once what is fetched for it is loaded (else a 2-year backfill shows 9 of 729 days done
    # until its last seconds).
    run.progress_endpoints = [e for e in endpoints if e not in (DAU, USER_ACTIVITY)]
    others = [e for e in endpoints if e not in PER_DAY]
    provisional = [d for d in days if d not in final]
    run.run_all(
        [
            *plan_steps(days, loaded, months_current, others, names),
            *plan_steps(provisional, loaded, months_current, PER_DAY, names),
        ]
    )
    floor = reachable_floor(today)
    pending = _not_derived(run, sorted(d for d in final if d >= floor), names.organization)
    verdict = derivation.run(pending)
    report_derived(run.instance, names, verdict.accepted, verdict.empty)
    unready = sorted(verdict.unready)
    run.run_all(
        plan_steps(unready, _loaded(run, names.organization), months_current, [EDITOR_LANGUAGE], names)
    )
    # Each pass derives or fetches; a month waiting for days being fetched is derived in the next one.
    for _ in range(MAX_PASSES):
        pending = _not_derived(run, pending, names.organization)
        if not pending:
            return
        verdict = derivation.run(pending)
        report_derived(run.instance, names, verdict.accepted, verdict.empty)
        fetch = verdict.failed | verdict.unready
        if not fetch:
            fetch = verdict.waiting  # nothing left to wait for: fetch them
        derivation.totals.fetched += len(fetch)
        run.run_all(
            plan_steps(sorted(fetch), _loaded(run, names.organization), months_current, FALLBACK, names)
        )
        pending = sorted(set(pending) - fetch)


MAX_PASSES = 3
"""Derivation passes after the editor-language fetch: the first derives or refuses, the second derives
the months that waited for refused days to be fetched, a third only if one of those is refused."""


def _loaded(run: _Backfill, organization: str) -> set[tuple[str, dt.date]]:
    return loaded_pairs(run.warehouse, run.start, run.end, organization=organization)


def _not_derived(run: _Backfill, days: Sequence[dt.date], organization: str) -> list[dt.date]:
    """The days of ``days`` whose dau or user-activity is not loaded yet."""
    loaded = _loaded(run, organization)
    return [d for d in days if (DAU.name, d) not in loaded or (USER_ACTIVITY.name, d) not in loaded]
