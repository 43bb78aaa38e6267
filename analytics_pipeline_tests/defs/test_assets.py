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
from analytics_pipeline.backfill.in_process import execute_range
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


def _range(pipeline: Pipeline, start: dt.date, end: dt.date, *names: str, refetch: bool = False) -> dict:
    """Each partition's metadata of a run of ``names`` over ``start..end``, by asset and partition."""
    with dg.DagsterInstance.ephemeral() as instance:
        result = execute_range(
            pipeline.defs,
            start,
            end,
            instance,
            asset_selection=[dg.AssetKey(n) for n in names],
            refetch=refetch,
        )
    events = [e.materialization for e in result.get_asset_materialization_events()]
    return {
        (m.asset_key.to_user_string(), m.partition): {k: v.value for k, v in m.metadata.items()}
        for m in events
    }


def test_each_partition_of_a_run_reports_its_own_numbers(
    pipeline: Pipeline, sandbox: SandboxServer, last_week: tuple[dt.date, dt.date]
) -> None:
    start, end = last_week[0], last_week[0] + dt.timedelta(days=2)
    days = [start + dt.timedelta(days=n) for n in range(3)]
    before = sandbox.stats.total
    meta = _range(
        pipeline, start, end, "raw_editor_language", "raw_credit_usage", "raw_user_activity_monthly"
    )
    sent = sandbox.stats.total - before
    store = RawStore(pipeline.data_dir / "raw")
    for name in ("editor_language", "credit_usage"):
        endpoint = next(e for e in LANDED if e.name == name)
        own = [meta[(f"raw_{name}", d.isoformat())] for d in days]
        assert [m["rows"] for m in own] == [
            pq.read_metadata(store.partition_path(endpoint, d)).num_rows for d in days
        ]
        assert sum(m["requests"] for m in own) == own[0]["run_requests"]  # the run's, added up exactly
        assert all(m["fetched"] for m in own)
    # credit-usage is one range request for the 3 days: counted on the newest day.
    assert [meta[("raw_credit_usage", d.isoformat())]["requests"] for d in days] == [0, 0, 1]
    monthly = [meta[("raw_user_activity_monthly", d.isoformat())] for d in days]
    months = {m["month"] for m in monthly}
    assert sum(m["requests"] for m in monthly) == monthly[0]["run_requests"] > 0
    assert all("rows" not in m and m["month_rows"] > 0 for m in monthly) and len(months) in (1, 2)
    assert sent == sum(
        meta[(f"raw_{n}", end.isoformat())]["run_requests"]
        for n in ("editor_language", "credit_usage", "user_activity_monthly")
    )

    # Run again: it resumes, so nothing is fetched, and each partition says so, with its file's rows.
    again = _range(pipeline, start, end, "raw_editor_language")
    for d in days:
        own = again[("raw_editor_language", d.isoformat())]
        assert (own["fetched"], own["requests"], own["rows"]) == (
            False,
            0,
            meta[("raw_editor_language", d.isoformat())]["rows"],
        )

    loads = _range(pipeline, start, end, "fct_editor_language_activity", "fct_user_activity_monthly")
    with Warehouse(pipeline.data_dir / "warehouse.duckdb").reader() as con:
        for d in days:
            rows = con.execute(
                "select count(*) from fct_editor_language_activity where date = ?", [d]
            ).fetchone()
            assert loads[("fct_editor_language_activity", d.isoformat())]["rows"] == rows[0] > 0
            month = dt.date(d.year, d.month, 1)
            in_month = con.execute(
                "select count(*) from fct_user_activity_monthly where month = ?", [month]
            ).fetchone()
            assert loads[("fct_user_activity_monthly", d.isoformat())]["month_rows"] == in_month[0] > 0
