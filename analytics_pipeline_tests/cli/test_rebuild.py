"""``analytics-pipeline rebuild``: the warehouse from landed raw partitions, without a request; and a
warehouse file written by a newer DuckDB (the project's DuckDB 2.0 days) loaded again the same way."""

from __future__ import annotations

import datetime as dt
import gzip
from pathlib import Path

from analytics_pipeline.sandbox import SandboxServer
from analytics_pipeline_tests.conftest import run_cli, sandbox_env, warehouse_snapshot

# The first 4 KiB of a database file written by DuckDB 2.0.0 (its main header, version number 999),
# which is what DuckDB 1.5 reads before it refuses the file; the rest of such a file never gets read.
DUCKDB_2_HEADER = gzip.decompress(
    bytes.fromhex(
        "1f8b08000000000002035b57d916a973e023834ba8b3f7736606a24099919e819e016ef9145393e4a4a454e39434fce6"
        "b0784b3847441c0d3eaf7f2d32b86aef468651300a46c1281805a360148c8251300a46c1281805a36014d0040000825220"
        "3600100000"
    )
)


def _first_days(last: dt.date, count: int) -> tuple[str, str]:
    return (last - dt.timedelta(days=count - 1)).isoformat(), last.isoformat()


def test_rebuild_loads_the_same_warehouse_without_a_request(
    sandbox: SandboxServer, tmp_path: Path, last_week: tuple[dt.date, dt.date]
) -> None:
    env = sandbox_env(sandbox, tmp_path)
    start, end = _first_days(last_week[1], 3)
    assert run_cli("backfill", "--start", start, "--end", end, env=env).exit_code == 0
    data = tmp_path / "data"
    loaded = warehouse_snapshot(data)
    (data / "warehouse.duckdb").unlink()
    sent = sandbox.stats.total

    result = run_cli("rebuild", env={**env, "AUGMENT_API_TOKEN": ""})

    assert result.exit_code == 0, result.output
    assert "without a request" in result.output
    assert sandbox.stats.total == sent
    assert warehouse_snapshot(data) == loaded
    assert run_cli("rebuild", env=env).exit_code == 0  # again: nothing changes
    assert warehouse_snapshot(data) == loaded


def test_a_range_rebuilds_only_its_days(
    sandbox: SandboxServer, tmp_path: Path, last_week: tuple[dt.date, dt.date]
) -> None:
    env = sandbox_env(sandbox, tmp_path)
    start, end = _first_days(last_week[1], 3)
    assert run_cli("backfill", "--start", start, "--end", end, env=env).exit_code == 0
    data = tmp_path / "data"
    (data / "warehouse.duckdb").unlink()

    assert run_cli("rebuild", "--start", end, "--end", end, env=env).exit_code == 0

    days = {row[0] for row in warehouse_snapshot(data)["fct_dau_count"]}
    assert days == {dt.date.fromisoformat(end)}


def test_a_warehouse_from_a_newer_duckdb_is_kept_aside_and_loaded_again_by_the_next_run(
    sandbox: SandboxServer, tmp_path: Path, last_week: tuple[dt.date, dt.date]
) -> None:
    env = sandbox_env(sandbox, tmp_path)
    start, end = _first_days(last_week[1], 2)
    assert run_cli("backfill", "--start", start, "--end", end, env=env).exit_code == 0
    data = tmp_path / "data"
    loaded = warehouse_snapshot(data)
    warehouse = data / "warehouse.duckdb"
    warehouse.write_bytes(DUCKDB_2_HEADER)  # the directory as the DuckDB 2.0 release left it
    sent = sandbox.stats.total

    exported = run_cli("export", "--table", "fct_dau_count", "--format", "csv", "--out", "x.csv", env=env)
    assert exported.exit_code == 2
    assert "newer DuckDB" in exported.output and "analytics-pipeline rebuild" in exported.output

    result = run_cli("backfill", "--start", start, "--end", end, env=env)

    assert result.exit_code == 0, result.output
    assert "newer DuckDB" in result.output
    assert sandbox.stats.total == sent  # every day was landed: loaded again, not fetched
    assert warehouse_snapshot(data) == loaded
    kept = data / "warehouse.duckdb.from-duckdb-999"
    assert kept.read_bytes() == DUCKDB_2_HEADER
