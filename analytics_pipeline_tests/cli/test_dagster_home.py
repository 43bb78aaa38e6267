"""The commands on a persistent Dagster instance set up as the README says (``DAGSTER_HOME`` holding the
project's ``dagster.yaml``): their runs show in the UI, and their concurrent runs neither deadlock nor
swallow the command's own output.

Run as a user runs them, in a process of their own: both faults were process-wide (the logging module's
lock, and the stdout every in-process run redirected into its compute log).
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg

from analytics_pipeline.dates import days_between, utc_today, yesterday
from analytics_pipeline.sandbox import SandboxServer
from analytics_pipeline_tests.backfill.test_reconcile import latest_results
from analytics_pipeline_tests.conftest import CONTRACT_VARIABLES, sandbox_env

PROJECT_ROOT = Path(__file__).resolve().parents[2]
COMMAND = Path(sys.executable).parent / "analytics-pipeline"
TIMEOUT_SECONDS = 180
"""Far beyond the few seconds the command takes; it deadlocked, before, and never returned."""


def test_backfill_on_the_readmes_instance_finishes_prints_and_records_its_runs(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "dagster.yaml", home / "dagster.yaml")
    end = yesterday(utc_today()) - dt.timedelta(days=10)
    start = end - dt.timedelta(days=6)
    inherited = {k: v for k, v in os.environ.items() if k not in CONTRACT_VARIABLES and k != "DAGSTER_HOME"}
    env = {**inherited, **sandbox_env(sandbox, tmp_path), "DAGSTER_HOME": str(home)}
    done = subprocess.run(
        [str(COMMAND), "backfill", "--start", start.isoformat(), "--end", end.isoformat()],
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_SECONDS,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Backfill {start}..{end}: 7 days, 0 already loaded" in done.stdout, done.stdout
    assert "run 1/" in done.stdout
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
        assert runs and {run.status for run in runs} == {dg.DagsterRunStatus.SUCCESS}
        # Nothing captured: the command's output is the command's, not a compute log's.
        assert not list(home.rglob("compute_logs/*"))
        # Each day's reconciliation checks end compared, whichever pass loaded first.
        latest = latest_results(instance)
    for check in ("matches_dau_count", "matches_daily_usage", "matches_user_activity"):
        for day in days_between(start, end):
            evaluation = latest[(check, day.isoformat())]
            assert evaluation.passed and evaluation.metadata["compared"].value, (check, day)
