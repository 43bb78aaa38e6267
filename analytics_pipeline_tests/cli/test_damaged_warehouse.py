"""A warehouse file DuckDB cannot open: one line naming it and how to rebuild, before any request."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from analytics_pipeline.sandbox import SandboxServer
from analytics_pipeline_tests.conftest import assert_one_line_error, run_cli, sandbox_env

REBUILD = "move it aside"


def _garbage(path: Path) -> None:
    path.write_bytes(b"not a database " * 1000)


def _truncated(path: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute("create table t as select range as x from range(100000)")
    con.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


@pytest.fixture(params=[_garbage, _truncated], ids=["garbage", "truncated"])
def env(request: pytest.FixtureRequest, sandbox: SandboxServer, tmp_path: Path) -> dict[str, str]:
    env = sandbox_env(sandbox, tmp_path)
    data_dir = Path(env["ANALYTICS_DATA_DIR"])
    data_dir.mkdir(mode=0o700)
    request.param(data_dir / "warehouse.duckdb")
    return env


def _days() -> tuple[str, str]:
    end = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=2)
    return str(end - dt.timedelta(days=1)), str(end)


@pytest.mark.parametrize(
    "command",
    [
        ("backfill", "--start", "{start}", "--end", "{end}"),
        ("nightly",),
        ("plan", "--start", "{start}", "--end", "{end}"),
        ("report",),
        ("export", "--table", "fct_dau_count", "--format", "csv", "--out", "{tmp}/out.csv"),
    ],
    ids=lambda command: command[0],
)
def test_every_command_names_the_file_and_the_rebuild(
    env: dict[str, str], sandbox: SandboxServer, tmp_path: Path, command: tuple[str, ...]
) -> None:
    start, end = _days()
    warehouse = Path(env["ANALYTICS_DATA_DIR"]) / "warehouse.duckdb"
    before = warehouse.read_bytes()
    sandbox.stats.reset()
    args = [a.format(start=start, end=end, tmp=tmp_path) for a in command]
    result = run_cli(*args, env=env)
    assert_one_line_error(result, f"{warehouse} is not a warehouse DuckDB can open")
    assert REBUILD in result.output and "backfill" in result.output
    assert "another process" not in result.output
    assert warehouse.read_bytes() == before  # never "repaired" over
    if command[0] != "plan":  # plan's one dau-count request comes before it reads the warehouse
        assert sandbox.stats.total == 0
