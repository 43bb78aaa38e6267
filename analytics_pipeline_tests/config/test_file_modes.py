"""Data files are readable by their owner only: every file 0600 (or stricter), every directory 0700."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from analytics_pipeline.config.datadir import keep_files_private
from analytics_pipeline.sandbox import SandboxServer
from analytics_pipeline.warehouse import Warehouse
from analytics_pipeline_tests.conftest import run_cli, sandbox_env
from analytics_pipeline_tests.traces import loose_modes

pytestmark = pytest.mark.usefixtures("clean_environment")


def test_everything_a_run_creates_in_the_data_directory_is_private(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    os.umask(0o022)  # a common default: group and others may read what is created
    env = sandbox_env(sandbox, tmp_path)
    result = run_cli("nightly", env=env)
    assert result.exit_code == 0, result.output
    out = tmp_path / "data" / "exports" / "dau.csv"
    out.parent.mkdir(mode=0o700)
    result = run_cli("export", "--table", "fct_dau_count", "--format", "csv", "--out", str(out), env=env)
    assert result.exit_code == 0, result.output
    data_dir = tmp_path / "data"
    names = {p.name for p in data_dir.rglob("*")}
    expected = {"part-0.parquet", ".lock", "warehouse.duckdb", "warehouse.duckdb.lock", ".emails", ".state"}
    assert expected | {"dau.csv"} <= names
    assert loose_modes(data_dir) == []


def test_duckdbs_own_files_are_private_under_the_pipelines_umask(tmp_path: Path) -> None:
    """DuckDB creates its write-ahead log itself: only the umask can make it private."""
    os.umask(0o022)
    keep_files_private()
    warehouse = Warehouse(tmp_path / "data" / "warehouse.duckdb")
    with warehouse.writer() as con:
        con.execute("insert into fct_dau_count values ('2026-11-01', 5, 'default')")
        wal = warehouse.path.with_name("warehouse.duckdb.wal")
        assert wal.exists()
        assert stat.S_IMODE(wal.stat().st_mode) == 0o600


def test_keep_files_private_keeps_a_stricter_umask() -> None:
    os.umask(0o027)
    keep_files_private()
    assert os.umask(0o022) == 0o077
    os.umask(0o177)
    keep_files_private()
    assert os.umask(0o022) == 0o177
