import datetime as dt
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from analytics_pipeline.api.endpoints import ASSET_ENDPOINTS
from analytics_pipeline.config.settings import Settings
from analytics_pipeline.defs.build import build_definitions
from analytics_pipeline.defs.organization_names import OrgNames

TODAY = dt.date(2026, 11, 20)
API_POOL = OrgNames().pool


@pytest.fixture
def defs() -> dg.Definitions:
    env = {"AUGMENT_API_TOKEN": "t", "ANALYTICS_START_DATE": "2025-01-01"}
    return build_definitions(Settings.from_env(env, today=TODAY, env_file=Path("/nonexistent")))


def test_definitions_module_loads(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("AUGMENT_API_TOKEN", raising=False)
    from analytics_pipeline.definitions import defs as lazy_defs

    loaded = lazy_defs()
    dg.Definitions.validate_loadable(loaded)
    assert loaded.resolve_job_def("analytics_job") is not None


def test_every_landed_endpoint_has_a_raw_and_a_fact_asset(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    for endpoint in ASSET_ENDPOINTS:
        assert f"raw_{endpoint.name}" in keys
        assert endpoint.fact_table in keys
    assert {"dim_users", "pipeline_rechecks", "usage_report"} <= keys
    assert len(keys) == 2 * len(ASSET_ENDPOINTS) + 3


def test_recheck_calls_the_api_and_runs_before_dim_users(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    recheck = dg.AssetKey("pipeline_rechecks")
    assert graph.get(recheck).pools == {API_POOL}
    assert recheck in graph.get(dg.AssetKey("dim_users")).parent_keys
    assert {dg.AssetKey("raw_dau_count"), dg.AssetKey("fct_dau_count")} <= graph.get(recheck).parent_keys


def test_freshness_checks_flag_a_missing_nightly_load(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    checked = {key.asset_key.to_user_string() for key in graph.asset_check_keys if "freshness" in key.name}
    assert checked == {*(e.fact_table for e in ASSET_ENDPOINTS), "dim_users"}
    sensor = defs.resolve_sensor_def("nightly_freshness")
    assert "04:00 UTC" in (sensor.description or "")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING


def test_assets_are_grouped_described_and_partitioned(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.group_name in {"raw", "warehouse", "reports"}
        assert node.description, key
        assert isinstance(node.partitions_def, dg.DailyPartitionsDefinition)
        assert node.partitions_def.timezone == "UTC"
        if node.group_name == "raw":
            assert node.pools == {API_POOL}


def test_descriptions_say_how_a_days_partition_maps_to_what_lands(defs: dg.Definitions) -> None:
    """Every partition is a UTC day in the UI; a monthly endpoint lands, and loads, the month holding it."""
    graph = defs.resolve_asset_graph()
    for endpoint in ASSET_ENDPOINTS:
        for key in (f"raw_{endpoint.name}", endpoint.fact_table):
            description = graph.get(dg.AssetKey(key)).description or ""
            assert "one partition per" not in description and "loaded per day" not in description, key
            assert ("calendar month" in description) == endpoint.monthly, key


def test_partitions_start_at_setting_and_end_yesterday(defs: dg.Definitions) -> None:
    partitions = defs.resolve_job_def("analytics_job").partitions_def
    assert partitions is not None
    keys = partitions.get_partition_keys(current_time=dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.UTC))
    assert keys[0] == "2025-01-01"
    assert keys[-1] == "2026-11-19"


def test_nightly_schedule_runs_at_0230_utc_for_the_previous_day(defs: dg.Definitions) -> None:
    schedule = defs.resolve_schedule_def("nightly")
    assert schedule.cron_schedule == "30 2 * * *"
    assert schedule.execution_timezone == "UTC"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    context = dg.build_schedule_context(
        scheduled_execution_time=dt.datetime(2026, 11, 20, 2, 30, tzinfo=dt.UTC)
    )
    [request] = list(schedule.evaluate_tick(context).run_requests or [])
    assert request.partition_key == "2026-11-19"


def test_usage_report_follows_the_warehouse_in_the_nightly_job(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    report = graph.get(dg.AssetKey("usage_report"))
    warehouse = {k for k in graph.get_all_asset_keys() if graph.get(k).group_name == "warehouse"}
    assert report.group_name == "reports"
    assert set(report.parent_keys) == warehouse  # every fact table, dim_users and the re-check
    assert report.description and "HTML" in report.description
    assert report.partitions_def == graph.get(dg.AssetKey("dim_users")).partitions_def
    job = defs.resolve_job_def("analytics_job")
    assert dg.AssetKey("usage_report") in job.asset_layer.selected_asset_keys


def test_loading_the_definitions_leaves_the_report_libraries_unloaded() -> None:
    """pandas and Jinja2 (about 45 MB) load only when a report is made, not in every backfill process."""
    code = (
        "import sys, analytics_pipeline.definitions, analytics_pipeline.cli, "
        "analytics_pipeline.backfill.scheduler; "
        "print(sorted(m for m in ('pandas', 'jinja2') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_warehouse_assets_carry_their_tables_name_and_documented_columns(defs: dg.Definitions) -> None:
    graph = defs.resolve_asset_graph()
    for table in (*(e.fact_table for e in ASSET_ENDPOINTS if e.fact_table), "dim_users"):
        metadata = graph.get(dg.AssetKey(table)).metadata
        assert metadata["dagster/table_name"] == f"main.{table}"
        columns = metadata["dagster/column_schema"].columns
        assert columns and all(column.description for column in columns), table
    usage = graph.get(dg.AssetKey("fct_daily_usage")).metadata["dagster/column_schema"].columns
    assert [c.name for c in usage[:2]] == ["date", "total_modified_lines_of_code"]
    assert usage[0].type == "date"
