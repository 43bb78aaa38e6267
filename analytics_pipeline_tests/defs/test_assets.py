"""Each asset through ``dagster.materialize`` against the sandbox, into tmp_path."""

import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Iterator

import dagster as dg
import pyarrow.parquet as pq
import pytest

from analytics_pipeline.api.endpoints import EDITOR_LANGUAGE, LANDED, Endpoint
from analytics_pipeline.config.settings import Settings
from analytics_pipeline.defs.build import build_definitions
from analytics_pipeline.landing import RawStore
from analytics_pipeline.sandbox import SandboxRequest, SandboxResponse, SandboxServer
from analytics_pipeline.warehouse import Warehouse
from analytics_pipeline_tests.conftest import Pipeline


def _assets(pipeline: Pipeline, *names: str) -> list[dg.AssetsDefinition]:
    graph = pipeline.defs.resolve_asset_graph()
    return [graph.get(dg.AssetKey(name)).assets_def for name in names]


def _materialize(pipeline: Pipeline, day: dt.date, *names: str) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        _assets(pipeline, *names),
        partition_key=day.isoformat(),
    )


@pytest.mark.parametrize("endpoint", LANDED, ids=lambda e: e.name)
def test_raw_asset_lands_the_partition(
    pipeline: Pipeline, sandbox: SandboxServer, last_week: tuple[dt.date, dt.date], endpoint: Endpoint
) -> None:
    day = last_week[1]
    before = sandbox.stats.total
    result = _materialize(pipeline, day, f"raw_{endpoint.name}")
    assert result.success
    path = RawStore(pipeline.data_dir / "raw").partition_path(endpoint, day)
    assert path.parent.name == f"date={day.isoformat()}"
    table = pq.read_table(path)
    assert "raw_json" in table.column_names
    [materialization] = result.asset_materializations_for_node(f"raw_{endpoint.name}")
    assert materialization.metadata["rows"].value == table.num_rows
    assert materialization.metadata["requests"].value == sandbox.stats.total - before
    assert materialization.metadata["unknown_fields"].value == []


@pytest.mark.parametrize("endpoint", LANDED, ids=lambda e: e.name)
def test_fact_asset_loads_the_landed_partition(
    pipeline: Pipeline, last_week: tuple[dt.date, dt.date], endpoint: Endpoint
) -> None:
    day = last_week[1]
    result = _materialize(pipeline, day, f"raw_{endpoint.name}", endpoint.fact_table)
    assert result.success
    landed = RawStore(pipeline.data_dir / "raw").read(endpoint, day).num_rows
    with Warehouse(pipeline.data_dir / "warehouse.duckdb").reader() as con:
        rows = con.execute(f"select count(*) from {endpoint.fact_table}").fetchone()[0]
        recorded = con.execute(
            "select rows from pipeline_partitions where endpoint = ? and date = ?", [endpoint.name, day]
        ).fetchone()[0]
    assert rows == landed == recorded


def test_fact_asset_without_landed_data_fails_clearly(
    pipeline: Pipeline, last_week: tuple[dt.date, dt.date]
) -> None:
    result = dg.materialize(
        _assets(pipeline, "fct_dau_users"),
        partition_key=last_week[0].isoformat(),
        raise_on_error=False,
    )
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    cause = failure.step_failure_data.error.cause
    assert cause.cls_name == "MissingPartition"
    assert "materialize raw_dau first" in cause.message


def test_dim_users_asset(pipeline: Pipeline, last_week: tuple[dt.date, dt.date]) -> None:
    day = last_week[1]
    assert _materialize(pipeline, day, "raw_dau", "fct_dau_users", "dim_users").success
    with Warehouse(pipeline.data_dir / "warehouse.duckdb").reader() as con:
        users = con.execute("select count(*) from dim_users").fetchone()[0]
        dau = con.execute("select count(*) from fct_dau_users").fetchone()[0]
    assert users == dau > 0


def test_missing_token_is_said_at_load_and_fails_the_step_with_one_line(
    pipeline: Pipeline, last_week: tuple[dt.date, dt.date], caplog: pytest.LogCaptureFixture
) -> None:
    env = {k: v for k, v in pipeline.env.items() if k != "AUGMENT_API_TOKEN"}
    with caplog.at_level(logging.WARNING, logger="dagster"):
        defs = build_definitions(Settings.from_env(env, env_file=pipeline.data_dir / "no.env"))
    # As the code location loads: in its log, and on every asset that calls the API, in the UI.
    assert "AUGMENT_API_TOKEN is not set in the environment of the process" in caplog.text
    graph = defs.resolve_asset_graph()
    for key in (dg.AssetKey("raw_dau"), dg.AssetKey("pipeline_rechecks")):
        assert "Warning: AUGMENT_API_TOKEN is not set" in (graph.get(key).description or "")
    assert "Warning" not in (graph.get(dg.AssetKey("fct_dau_users")).description or "")
    result = dg.materialize(
        [defs.resolve_asset_graph().get(dg.AssetKey("raw_dau")).assets_def],
        partition_key=last_week[1].isoformat(),
        raise_on_error=False,
    )
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    assert failure.step_failure_data.error.cause.cls_name == "ConfigError"
    message = failure.step_failure_data.error.cause.message
    assert "AUGMENT_API_TOKEN is not set" in message and "code server" in message
    assert "demo" not in message  # the command line's advice, not a Dagster user's


@pytest.fixture
def repeating(sandbox: SandboxServer) -> Iterator[SandboxServer]:
    """Editor-language pages start with the previous page's last record (as offset pagination does when
    a record is added between pages); the shared sandbox is restored afterwards."""
    last: list[dict] = []

    def before(request: SandboxRequest, response: SandboxResponse) -> SandboxResponse:
        if request.path != EDITOR_LANGUAGE.path or response.status != 200:
            return response
        body = json.loads(response.body)
        records = body[EDITOR_LANGUAGE.records_key]
        if "cursor" in request.query and last:
            records.insert(0, last[-1])
        last.append(records[-1])
        return dataclasses.replace(response, body=json.dumps(body).encode())

    sandbox.before_response = before
    yield sandbox
    sandbox.before_response = None


def test_records_a_page_repeats_are_collapsed_and_counted_in_the_metadata(
    pipeline: Pipeline, repeating: SandboxServer, last_week: tuple[dt.date, dt.date]
) -> None:
    day = last_week[1]
    result = _materialize(pipeline, day, "raw_editor_language", "fct_editor_language_activity")
    assert result.success
    [materialization] = result.asset_materializations_for_node("raw_editor_language")
    pages = materialization.metadata["pages"].value
    assert pages > 1
    assert materialization.metadata["duplicates_collapsed"].value == pages - 1
    store = RawStore(pipeline.data_dir / "raw")
    assert store.info(EDITOR_LANGUAGE, day).duplicates_collapsed == pages - 1
    with Warehouse(pipeline.data_dir / "warehouse.duckdb").reader() as con:
        rows, keys = con.execute(
            "select count(*), count(distinct (user_key, language, editor)) from fct_editor_language_activity"
        ).fetchone()
    assert rows == keys == store.info(EDITOR_LANGUAGE, day).rows
