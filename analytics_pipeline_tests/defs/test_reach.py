"""A Dagster run never fetches a partition older than the API's lookback: it fails at once, in one line,
before any request; a landed one is still loaded (nothing to fetch)."""

import datetime as dt
from pathlib import Path

import dagster as dg
import pytest
import time_machine

from analytics_pipeline.config.settings import Settings
from analytics_pipeline.dates import lookback_floor, utc_today
from analytics_pipeline.defs.build import build_definitions
from analytics_pipeline.defs.reach import beyond_reach_message
from analytics_pipeline.sandbox import SandboxServer
from analytics_pipeline.warehouse import Warehouse
from analytics_pipeline_tests.conftest import sandbox_env

D = dt.date


def test_the_message_names_the_days_and_the_oldest_day_served() -> None:
    one = beyond_reach_message([D(2024, 1, 3)], D(2024, 12, 5))
    assert one.startswith(
        "partition 2024-01-03 is beyond the API's 2-year lookback (the oldest day it serves"
    )
    several = beyond_reach_message([D(2024, 1, 3), D(2024, 1, 9)], D(2024, 12, 5))
    assert several.startswith("2 partitions 2024-01-03..2024-01-09 are beyond")
    assert "\n" not in several


def _defs(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start: D
) -> dg.Definitions:
    env = {**sandbox_env(sandbox, tmp_path), "ANALYTICS_START_DATE": start.isoformat()}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return build_definitions(Settings.from_env(env, env_file=tmp_path / "no.env"))


def _failure(result: dg.ExecuteInProcessResult) -> str:
    [failure] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    return failure.step_failure_data.user_failure_data.description


def test_a_partition_beyond_the_lookback_fails_before_any_request(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = lookback_floor(utc_today()) - dt.timedelta(days=30)
    defs = _defs(sandbox, tmp_path, monkeypatch, old)
    before = sandbox.stats.total
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        partition_key=old.isoformat(), asset_selection=[dg.AssetKey("raw_dau")], raise_on_error=False
    )
    assert not result.success
    assert _failure(result).startswith(f"partition {old} is beyond the API's 2-year lookback")
    assert sandbox.stats.total == before


def test_a_landed_partition_that_left_the_lookback_is_still_loaded_without_a_request(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    day = utc_today() - dt.timedelta(days=2)
    defs = _defs(sandbox, tmp_path, monkeypatch, day)
    job = defs.resolve_implicit_global_asset_job_def()
    keys = [dg.AssetKey("raw_dau"), dg.AssetKey("fct_dau_users")]
    assert job.execute_in_process(partition_key=day.isoformat(), asset_selection=keys).success
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=2 * 365 + 40), tick=True):
        assert day < lookback_floor(utc_today())
        before = sandbox.stats.total
        later = _defs(sandbox, tmp_path, monkeypatch, day).resolve_implicit_global_asset_job_def()
        assert later.execute_in_process(partition_key=day.isoformat(), asset_selection=keys).success
        assert sandbox.stats.total == before
        refetch = later.execute_in_process(
            partition_key=day.isoformat(),
            asset_selection=keys,
            tags={"analytics_pipeline/refetch": "true"},
            raise_on_error=False,
        )
        assert not refetch.success and "beyond the API's 2-year lookback" in _failure(refetch)
        assert sandbox.stats.total == before
    with Warehouse(tmp_path / "data" / "warehouse.duckdb").reader() as con:
        assert (
            con.execute("select count(*) from pipeline_partitions where date = ?", [day]).fetchone()[0] == 1
        )
