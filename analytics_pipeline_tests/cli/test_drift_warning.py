"""Fields the API adds are named on the command line, once per endpoint and run."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

from analytics_pipeline.dates import utc_today, yesterday
from analytics_pipeline.sandbox import FaultInjector, FaultPlan, SandboxServer, SyntheticOrg
from analytics_pipeline_tests.conftest import TEST_BURST, TEST_REQUESTS_PER_MINUTE, sandbox_env

ADDED = "metrics.background_agent_messages"
DRIFTING = ("daily_usage", "user_activity", "editor_language", "user_activity_monthly")


def test_each_endpoint_with_a_new_field_warns_once(tmp_path: Path) -> None:
    end = yesterday(utc_today())
    start = end - dt.timedelta(days=9)
    injector = FaultInjector(FaultPlan(seed=3, drift_add_field=ADDED, drift_rate=1.0))
    org = SyntheticOrg(seed=5, people=12, service_accounts=1)
    with SandboxServer(
        org, requests_per_minute=TEST_REQUESTS_PER_MINUTE, burst=TEST_BURST, faults=injector
    ) as server:
        env = {**os.environ, **sandbox_env(server, tmp_path)}
        command = ["backfill", "--start", str(start), "--end", str(end)]
        result = subprocess.run(
            [sys.executable, "-m", "analytics_pipeline.cli", *command],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "does not know yet" in line]
    warned = sorted(line.split("analytics_pipeline.drift: ")[1].split(":")[0] for line in warnings)
    assert warned == sorted(DRIFTING), result.stderr
    assert all(line.endswith(f"(kept in raw_json): {ADDED}") for line in warnings)
