"""Ctrl-C ends a command with one line, and a second run resumes."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
from pathlib import Path

from analytics_pipeline.dates import utc_today, yesterday
from analytics_pipeline.sandbox import SandboxServer
from analytics_pipeline_tests.conftest import run_cli, sandbox_env, warehouse_snapshot


def test_ctrl_c_is_one_line_and_the_next_run_resumes(sandbox: SandboxServer, tmp_path: Path) -> None:
    end = yesterday(utc_today())
    start = end - dt.timedelta(days=44)  # four runs: interrupted after the first
    env = sandbox_env(sandbox, tmp_path)
    command = ("backfill", "--start", str(start), "--end", str(end))
    process = subprocess.Popen(
        [sys.executable, "-m", "analytics_pipeline.cli", *command],
        env={**os.environ, **env},
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A child of a non-interactive shell may inherit SIGINT ignored; a terminal's Ctrl-C is not.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert process.stdout is not None
    first = process.stdout.readline()  # a step has run: threads are fetching and loading
    assert first.startswith("["), first
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines() == [
        "analytics-pipeline: interrupted; landed data is intact: run the same command again to resume"
    ]
    resumed = run_cli(*command, env=env)
    assert resumed.exit_code == 0, resumed.output
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    uninterrupted = run_cli(*command, env=sandbox_env(sandbox, fresh))
    assert uninterrupted.exit_code == 0, uninterrupted.output
    resumed_tables, fresh_tables = warehouse_snapshot(tmp_path / "data"), warehouse_snapshot(fresh / "data")
    assert resumed_tables == fresh_tables
