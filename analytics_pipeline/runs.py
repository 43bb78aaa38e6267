"""Run the Dagster job in-process for a range of days: what ``backfill``, ``nightly`` and ``demo`` share.

The same assets the schedule runs, through Dagster, in this process: a day range becomes runs of up to
90 days (newest first, so recent data is queryable soonest), and days the warehouse already holds for
every endpoint are skipped, so a stopped backfill resumes where it left off.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from analytics_pipeline.api.endpoints import LANDED
from analytics_pipeline.dates import contiguous_windows, days_between
from analytics_pipeline.defs.build import MAX_PARTITIONS_PER_RUN
from analytics_pipeline.defs.jobs import ANALYTICS_JOB
from analytics_pipeline.warehouse import Warehouse
from analytics_pipeline.warehouse.sql import scalar

# The command line reports progress and the root cause of a failure in one line of its own; Dagster's
# console logger would add every step failure's full stack trace. The UI and event log keep everything.
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}

LOADED_DAYS_SQL = """
select date
from pipeline_partitions
where date between $start and $end
group by date
having count(distinct endpoint) = $endpoints
"""

REQUESTS_SQL = "select coalesce(sum(requests), 0) from pipeline_partitions where date between $start and $end"


def loaded_days(warehouse: Warehouse, start: dt.date, end: dt.date) -> set[dt.date]:
    """Days in ``start..end`` for which every landed endpoint is in the warehouse."""
    if not warehouse.path.is_file():
        return set()
    with warehouse.writer() as con:
        rows = con.execute(LOADED_DAYS_SQL, {"start": start, "end": end, "endpoints": len(LANDED)}).fetchall()
    return {row[0] for row in rows}


def requests_recorded(warehouse: Warehouse, start: dt.date, end: dt.date) -> int:
    with warehouse.writer() as con:
        return int(scalar(con, REQUESTS_SQL, {"start": start, "end": end}))


def instance_for_cli() -> dg.DagsterInstance:
    """The persistent instance when ``DAGSTER_HOME`` is set (runs then show in the UI), else ephemeral."""
    return dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()


def execute_range(
    defs: dg.Definitions, start: dt.date, end: dt.date, instance: dg.DagsterInstance
) -> dg.ExecuteInProcessResult:
    """One run of the job over the partitions ``start..end``; raises on the first failed step."""
    job = defs.resolve_job_def(ANALYTICS_JOB)
    return job.execute_in_process(
        run_config=QUIET_RUN_CONFIG,
        instance=instance,
        tags={
            ASSET_PARTITION_RANGE_START_TAG: start.isoformat(),
            ASSET_PARTITION_RANGE_END_TAG: end.isoformat(),
        },
    )


@dataclass(frozen=True)
class Progress:
    """Where a backfill stands after one of its runs."""

    days_done: int
    days_total: int
    requests: int
    elapsed: float
    last_window: tuple[dt.date, dt.date]

    @property
    def rate_per_minute(self) -> float:
        return self.requests / self.elapsed * 60 if self.elapsed > 0 else 0.0

    @property
    def eta_seconds(self) -> float:
        if not self.days_done:
            return float("nan")
        return self.elapsed / self.days_done * (self.days_total - self.days_done)


@dataclass(frozen=True)
class BackfillOutcome:
    days_total: int
    days_skipped: int
    runs: int
    requests: int
    elapsed: float


def backfill(
    defs: dg.Definitions,
    warehouse: Warehouse,
    start: dt.date,
    end: dt.date,
    *,
    instance: dg.DagsterInstance,
    on_progress: Callable[[Progress], None] = lambda progress: None,
    clock: Callable[[], float] = time.monotonic,
) -> BackfillOutcome:
    """Load every endpoint for ``start..end``, skipping days already loaded, newest runs first."""
    days = days_between(start, end)
    done = loaded_days(warehouse, start, end)
    todo: Sequence[dt.date] = [d for d in days if d not in done]
    windows = contiguous_windows(todo, MAX_PARTITIONS_PER_RUN)
    started = clock()
    requests = finished = 0
    for window in windows:
        execute_range(defs, *window, instance)
        finished += (window[1] - window[0]).days + 1
        requests += requests_recorded(warehouse, *window)
        on_progress(Progress(finished, len(todo), requests, clock() - started, window))
    return BackfillOutcome(len(days), len(done), len(windows), requests, clock() - started)
