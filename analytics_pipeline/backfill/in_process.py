"""Run the Dagster job in-process: what ``backfill``, ``nightly`` and ``demo`` share.

The same assets the schedule runs, through Dagster, in this process.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Iterator, Sequence

import dagster as dg

from analytics_pipeline.defs.dagster_private import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    NO_OP_COMPUTE_LOGS,
)
from analytics_pipeline.defs.jobs import ANALYTICS_JOB
from analytics_pipeline.defs.partitions import REFETCH_TAG

# The command line reports progress and the root cause of a failure in one line of its own; Dagster's
# console logger would add every step failure's full stack trace. The UI and event log keep everything.
QUIET_RUN_CONFIG = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}


def instance_for_cli() -> dg.DagsterInstance:
    """The persistent instance when ``DAGSTER_HOME`` is set (runs then show in the UI), else ephemeral."""
    if not os.environ.get("DAGSTER_HOME"):
        return dg.DagsterInstance.ephemeral()
    return _logging_configured_once(_without_stdout_capture())


def _without_stdout_capture() -> dg.DagsterInstance:
    """The ``DAGSTER_HOME`` instance (storage, settings, pools), its runs capturing no stdout or stderr.

    An in-process run redirects the whole process's output into its compute log while it runs, and the
    command's runs overlap in threads: they restored each other's redirections, and the command's own
    progress lines went into a run's log file. The assets log through Dagster's event log, which stays.
    """
    # Read from the instance as Dagster opens it (its checks of DAGSTER_HOME), which is closed again.
    with dg.DagsterInstance.get() as home:
        ref = home.get_ref()._replace(compute_logs_data=NO_OP_COMPUTE_LOGS)
    return dg.DagsterInstance.from_ref(ref)


def _logging_configured_once(instance: dg.DagsterInstance) -> dg.DagsterInstance:
    """``instance``, its ``python_logs`` handlers made once, here, rather than at the start of each run.

    An instance with a ``dagster.yaml`` calls ``logging.config.dictConfig`` as every run starts (even
    when the file configures no logging). That takes the logging module's lock and then each handler's;
    a run emitting events in another thread holds its handler's lock and waits for the module's: the
    command's concurrent runs (fetching and loading overlap, organisations run at once) deadlocked.
    Made once before any thread runs, the same handlers serve every run.
    """
    handlers = instance.get_yaml_python_handlers()
    instance.get_yaml_python_handlers = lambda: handlers  # type: ignore[method-assign]
    return instance


@contextlib.contextmanager
def instance_for_thread(instance: dg.DagsterInstance) -> Iterator[dg.DagsterInstance]:
    """``instance``, or a fresh ephemeral one when it is ephemeral: an ephemeral instance keeps every event
    in an in-memory SQLite that only its own thread may use, so each run in a thread gets its own (and
    memory stays flat: it is disposed of with the run)."""
    if not instance.is_ephemeral:
        yield instance
        return
    with dg.DagsterInstance.ephemeral() as fresh:
        yield fresh


def execute_range(
    defs: dg.Definitions,
    start: dt.date,
    end: dt.date,
    instance: dg.DagsterInstance,
    *,
    asset_selection: Sequence[dg.AssetKey] | None = None,
    refetch: bool = False,
    job_name: str = ANALYTICS_JOB,
) -> dg.ExecuteInProcessResult:
    """One run of an organisation's job (the default one's unless ``job_name`` says) over the partitions
    ``start..end``; raises on the first failed step."""
    job = defs.resolve_job_def(job_name)
    tags = {
        ASSET_PARTITION_RANGE_START_TAG: start.isoformat(),
        ASSET_PARTITION_RANGE_END_TAG: end.isoformat(),
    }
    if refetch:
        tags[REFETCH_TAG] = "true"
    return job.execute_in_process(
        run_config=QUIET_RUN_CONFIG, instance=instance, tags=tags, asset_selection=asset_selection
    )


def requests_of(result: dg.ExecuteInProcessResult) -> int:
    """API requests a run sent, from its raw assets' materialization metadata.

    A run over many partitions reports the run's total (``run_requests``) once per partition, so each
    asset counts once.
    """
    per_asset: dict[dg.AssetKey, int] = {}
    for event in result.get_asset_materialization_events():
        materialization = event.materialization
        requests = materialization.metadata.get("run_requests")
        if requests is not None and isinstance(requests.value, int):
            per_asset[materialization.asset_key] = requests.value
    return sum(per_asset.values())
