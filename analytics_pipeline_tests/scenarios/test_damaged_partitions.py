"""A damaged raw partition (truncated, or a foreign file in its place) is quarantined, named in one line,
and fetched anew; it never holds back the good partitions of its run."""

from __future__ import annotations

import datetime as dt
import logging
import stat
from pathlib import Path

import click
import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from analytics_pipeline.api.endpoints import DAU
from analytics_pipeline.backfill.in_process import execute_range
from analytics_pipeline.cli.errors import handle_errors
from analytics_pipeline.dates import days_between
from analytics_pipeline.defs.assets.raw import raw_asset_key
from analytics_pipeline.defs.assets.warehouse import fact_asset_key
from analytics_pipeline.landing import DamagedPartition, RawStore
from analytics_pipeline.sandbox import SandboxServer
from analytics_pipeline.warehouse import Warehouse
from analytics_pipeline_tests.conftest import Pipeline, run_cli, sandbox_env


def _loaded_days(data_dir: Path) -> list[dt.date]:
    with Warehouse(data_dir / "warehouse.duckdb").reader() as con:
        sql = "select date from pipeline_partitions where endpoint = 'dau' order by date"
        return [day for (day,) in con.execute(sql).fetchall()]


def _unload(data_dir: Path, day: dt.date) -> None:
    """As if the run that landed ``day`` was killed before loading it."""
    with Warehouse(data_dir / "warehouse.duckdb").writer() as con:
        con.execute("delete from pipeline_partitions where endpoint = 'dau' and date = ?", [day])
        con.execute("delete from fct_dau_users where date = ?", [day])


def _land(pipeline: Pipeline, start: dt.date, end: dt.date) -> None:
    instance = dg.DagsterInstance.ephemeral()
    execute_range(pipeline.defs, start, end, instance, asset_selection=[raw_asset_key(DAU)])


def _quarantined(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "raw" / ".quarantine" / "dau").glob("*.parquet"))


@pytest.mark.usefixtures("clean_environment")
@pytest.mark.parametrize("how", ["truncated", "foreign"])
def test_a_resumed_backfill_fetches_a_damaged_partition_anew(
    sandbox: SandboxServer,
    tmp_path: Path,
    last_week: tuple[dt.date, dt.date],
    how: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    start, end = last_week[1] - dt.timedelta(days=2), last_week[1]
    middle = start + dt.timedelta(days=1)
    env = sandbox_env(sandbox, tmp_path)
    args = ("backfill", "--start", str(start), "--end", str(end), "--endpoints", "dau")
    assert run_cli(*args, env=env).exit_code == 0
    data_dir = tmp_path / "data"
    path = RawStore(data_dir / "raw").partition_path(DAU, middle)
    good = pq.read_table(path)
    if how == "truncated":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    else:
        pq.write_table(pa.table({"user": ["someone"]}), path)
    _unload(data_dir, middle)

    with caplog.at_level(logging.WARNING, logger="analytics_pipeline.landing.store"):
        result = run_cli(*args, env=env)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    [warning] = [r.getMessage() for r in caplog.records if "quarantined" in r.getMessage()]
    assert warning.startswith(f"dau {middle}: quarantined the landed partition {path} (")
    assert _loaded_days(data_dir) == days_between(start, end)
    assert pq.read_table(path).equals(good)
    [moved] = _quarantined(data_dir)
    assert stat.S_IMODE(moved.stat().st_mode) == 0o600


def test_the_raw_asset_names_what_it_quarantined_in_its_metadata(
    pipeline: Pipeline, last_week: tuple[dt.date, dt.date]
) -> None:
    start, end = last_week
    _land(pipeline, start, end)
    path = RawStore(pipeline.data_dir / "raw").partition_path(DAU, start)
    path.write_bytes(b"PAR1 not a parquet file PAR1")
    result = execute_range(
        pipeline.defs,
        start,
        end,
        dg.DagsterInstance.ephemeral(),
        asset_selection=[raw_asset_key(DAU)],
    )
    metadata = result.get_asset_materialization_events()[0].materialization.metadata
    assert metadata["quarantined"].value == [str(path)]
    assert metadata["run_requests"].value == 1  # the damaged day alone is fetched again
    assert RawStore(pipeline.data_dir / "raw").exists(DAU, start)


def test_a_load_loads_the_good_partitions_of_its_run_and_fails_in_one_line_for_the_damaged_one(
    pipeline: Pipeline, last_week: tuple[dt.date, dt.date]
) -> None:
    start, end = last_week[1] - dt.timedelta(days=2), last_week[1]
    middle = start + dt.timedelta(days=1)
    _land(pipeline, start, end)
    path = RawStore(pipeline.data_dir / "raw").partition_path(DAU, middle)
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(DamagedPartition) as info:
        execute_range(
            pipeline.defs, start, end, dg.DagsterInstance.ephemeral(), asset_selection=[fact_asset_key(DAU)]
        )
    message = str(info.value)
    assert message.startswith(f"dau {middle}: the landed partition {path} is damaged (its Parquet footer")
    assert "and running again fetches it anew (the run's 2 other partitions were loaded)" in message
    assert "\n" not in message
    assert _loaded_days(pipeline.data_dir) == [start, end]
    assert len(_quarantined(pipeline.data_dir)) == 1


def test_the_command_line_shows_a_damaged_partition_in_one_line() -> None:
    message = (
        "dau 2026-01-01: the landed partition raw/dau/date=2026-01-01/part-0.parquet is damaged (x); "
        "moved it to q, and running again fetches it anew"
    )

    @click.command()
    @handle_errors
    def command() -> None:
        raise DamagedPartition(message)

    result = CliRunner().invoke(command, catch_exceptions=False)
    assert (result.exit_code, result.output) == (1, f"analytics-pipeline: error: {message}\n")
