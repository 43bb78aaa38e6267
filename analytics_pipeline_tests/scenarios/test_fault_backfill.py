"""Backfills through Dagster against a faulty sandbox: under every transient fault at once the
warehouse ends equal to a clean run's; under schema drift, unknown fields are kept and missing ones
load as NULL."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from analytics_pipeline.api import ApiError
from analytics_pipeline.api.endpoints import (
    DAILY_USAGE,
    EDITOR_LANGUAGE,
    USER_ACTIVITY,
    USER_ACTIVITY_MONTHLY,
)
from analytics_pipeline.backfill.loaded import loaded_days
from analytics_pipeline.backfill.scheduler import backfill
from analytics_pipeline.config.settings import Settings
from analytics_pipeline.dates import days_between, utc_today, yesterday
from analytics_pipeline.defs.build import api_resource, build_definitions
from analytics_pipeline.landing import RawStore
from analytics_pipeline.organization import DEFAULT_ORGANIZATION
from analytics_pipeline.sandbox import FaultInjector, FaultPlan, SandboxServer, SyntheticOrg
from analytics_pipeline.sandbox.faults import TRANSIENT_KINDS
from analytics_pipeline.warehouse import Warehouse
from analytics_pipeline_tests.conftest import (
    SANDBOX_TOKEN,
    TEST_BURST,
    TEST_REQUESTS_PER_MINUTE,
    run_cli,
    sandbox_env,
    warehouse_snapshot,
)

# Fixed once for the module, so a run that crosses midnight UTC still sees one "today".
TODAY = utc_today()
END = yesterday(TODAY)
START = END - dt.timedelta(days=13)
ADDED = "metrics.background_agent_messages"
DROPPED = "metrics.completions_suggested_lines_of_code"
METRIC_TABLES = {
    DAILY_USAGE.fact_table: DAILY_USAGE,
    USER_ACTIVITY.fact_table: USER_ACTIVITY,
    EDITOR_LANGUAGE.fact_table: EDITOR_LANGUAGE,
    USER_ACTIVITY_MONTHLY.fact_table: USER_ACTIVITY_MONTHLY,
}


@pytest.fixture(autouse=True)
def token(monkeypatch: pytest.MonkeyPatch) -> None:
    """The API resource reads the token from the environment when a run starts, as in production."""
    monkeypatch.setenv("AUGMENT_API_TOKEN", SANDBOX_TOKEN)


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    """A sandbox of this module's own, so its faults never reach other tests."""
    org = SyntheticOrg(seed=17, people=30, service_accounts=2)
    with SandboxServer(
        org,
        tokens=(SANDBOX_TOKEN,),
        requests_per_minute=TEST_REQUESTS_PER_MINUTE,
        burst=TEST_BURST,
        today=TODAY,
    ) as sandbox:
        yield sandbox


def run_backfill(server: SandboxServer, data_dir: Path, start: dt.date, end: dt.date, **api: object) -> None:
    """One backfill, in-process, like ``analytics-pipeline backfill``; ``api`` tunes the client."""
    env = {
        "AUGMENT_API_TOKEN": SANDBOX_TOKEN,
        "AUGMENT_API_BASE_URL": server.url,
        "ANALYTICS_DATA_DIR": str(data_dir),
        "AUGMENT_API_REQUESTS_PER_MINUTE": str(TEST_REQUESTS_PER_MINUTE),
        "AUGMENT_API_BURST": str(TEST_BURST),
    }
    settings = Settings.from_env(env, env_file=data_dir / "no.env", today=TODAY)
    backfill(
        build_definitions(settings, api=api_resource(settings, **api)),
        Warehouse(data_dir / "warehouse.duckdb"),
        RawStore(data_dir / "raw"),
        start,
        end,
        instance=dg.DagsterInstance.ephemeral(),
        today=lambda: TODAY,
    )


@pytest.fixture(scope="module")
def clean(server: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The data directory of a clean two-week backfill, which the faulty runs are compared with."""
    data_dir = tmp_path_factory.mktemp("clean")
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("AUGMENT_API_TOKEN", SANDBOX_TOKEN)
        run_backfill(server, data_dir, START, END)
    return data_dir


def test_a_two_week_backfill_under_every_transient_fault_equals_a_clean_run(
    server: SandboxServer, clean: Path, tmp_path: Path
) -> None:
    # Rates high enough that each kind fires several times in the backfill's ninety-odd requests. The
    # penalty window outlasts the storms' Retry-After, so the retry a storm's Retry-After schedules lands
    # inside it however busy the machine is (at 0.15s only quick retries without one did: 1 to 4 of them).
    plan = FaultPlan(
        seed=16,
        error_rate=0.1,
        drop_rate=0.07,
        slow_rate=0.06,
        slow_seconds=2.0,
        truncate_rate=0.1,
        storm_every=16,
        storm_length=3,
        storm_retry_after="alternate",
        storm_retry_after_seconds=0.2,
        penalty_seconds=0.3,
    )
    injector = FaultInjector(plan)
    server.faults = injector
    server.stats.reset()
    # Short timeouts and backoff keep the test to seconds; the timeout is still well past a loopback
    # answer on a busy machine. Should a request's faults outlast its six attempts, its run fails,
    # and the next run resumes where that one stopped.
    client = {"timeout_seconds": 1.0, "retry_base_delay": 0.1, "retry_max_delay": 0.5}
    failures: list[str] = []
    try:
        for _ in range(6):
            try:
                run_backfill(server, tmp_path / "faulty", START, END, **client)
                break
            except ApiError as exc:
                failures.append(str(exc))
        else:
            pytest.fail(f"the backfill did not complete in 6 runs: {failures}")
    finally:
        server.faults = None

    counts = injector.counts
    assert all(counts[kind] >= 2 for kind in TRANSIENT_KINDS), counts
    assert all("gave up after" in failure for failure in failures)
    assert server.stats.rate_limited == 0  # the real limiter never had to refuse
    assert warehouse_snapshot(tmp_path / "faulty") == warehouse_snapshot(clean)
    assert [p for p in (tmp_path / "faulty").rglob("*") if p.name.endswith(".tmp")] == []


def test_under_drift_unknown_fields_are_kept_and_missing_ones_load_as_null(
    server: SandboxServer, clean: Path, tmp_path: Path
) -> None:
    plan = FaultPlan(seed=9, drift_add_field=ADDED, drift_drop_field=DROPPED, drift_rate=0.5)
    injector = FaultInjector(plan)
    server.faults = injector
    try:
        run_backfill(server, tmp_path / "drift", START, END)
    finally:
        server.faults = None
    assert injector.counts["drift"] > 0

    # Landed rows: the plan says which records drift; exactly those differ, in raw_json and one column.
    clean_raw, drift_raw = RawStore(clean / "raw"), RawStore(tmp_path / "drift" / "raw")
    new_nulls = dict.fromkeys(METRIC_TABLES, 0)
    for table, endpoint in METRIC_TABLES.items():
        drifted_rows = 0
        for day in clean_raw.landed_days(endpoint):
            clean_rows = clean_raw.read(endpoint, day).to_pylist()
            drift_rows = drift_raw.read(endpoint, day).to_pylist()
            assert len(drift_rows) == len(clean_rows)
            drifted_on_day = 0
            for before, after in zip(clean_rows, drift_rows, strict=True):
                record, received = json.loads(before.pop("raw_json")), json.loads(after.pop("raw_json"))
                if not plan.drifted(record):
                    assert (received, after) == (record, before)
                    continue
                drifted_on_day += 1
                assert isinstance(received["metrics"]["background_agent_messages"], int)  # kept as sent
                assert "completions_suggested_lines_of_code" not in received["metrics"]
                assert after["completions_suggested_lines_of_code"] is None  # missing: NULL, not 0
                assert after == {**before, "completions_suggested_lines_of_code": None}
                if before["completions_suggested_lines_of_code"] is not None:
                    new_nulls[table] += 1
            expected_unknown = [ADDED] if drifted_on_day else []
            assert drift_raw.info(endpoint, day).unknown_fields == expected_unknown
            drifted_rows += drifted_on_day
        assert drifted_rows > 0, endpoint.name

    # The warehouse: the other tables equal the clean run's; metric tables too, but for the dropped
    # field, NULL exactly where a drifted record lacked it; every drifted endpoint lists the new field.
    expected, drift = warehouse_snapshot(clean), warehouse_snapshot(tmp_path / "drift")
    for table in set(expected) - set(METRIC_TABLES):
        assert drift[table] == expected[table], table
    nulls = "select count(*) from {} where completions_suggested_lines_of_code is null"
    for table in METRIC_TABLES:
        others = f"select * exclude (completions_suggested_lines_of_code) from {table} order by all"
        assert _query(tmp_path / "drift", others) == _query(clean, others), table
        assert _query(tmp_path / "drift", nulls.format(table)) == [
            (_query(clean, nulls.format(table))[0][0] + new_nulls[table],)
        ]
    listed = _query(
        tmp_path / "drift",
        f"select distinct endpoint from pipeline_partitions where list_contains(unknown_fields, '{ADDED}')",
    )
    assert {name for (name,) in listed} == {e.name for e in METRIC_TABLES.values()}


def _query(data_dir: Path, sql: str) -> list[tuple]:
    with Warehouse(data_dir / "warehouse.duckdb").reader() as con:
        return con.execute(sql).fetchall()


def test_the_raw_asset_lists_drifted_fields_in_its_metadata(server: SandboxServer, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {
        "AUGMENT_API_TOKEN": SANDBOX_TOKEN,
        "AUGMENT_API_BASE_URL": server.url,
        "ANALYTICS_DATA_DIR": str(data_dir),
    }
    settings = Settings.from_env(env, env_file=tmp_path / "no.env", today=TODAY)
    asset = build_definitions(settings).resolve_asset_graph().get(dg.AssetKey("raw_daily_usage")).assets_def
    server.faults = FaultInjector(FaultPlan(drift_add_field="region", drift_drop_field=DROPPED))
    try:
        result = dg.materialize([asset], partition_key=END.isoformat())
    finally:
        server.faults = None
    [materialization] = result.asset_materializations_for_node("raw_daily_usage")
    assert materialization.metadata["unknown_fields"].value == ["region"]


def test_a_backfill_that_gives_up_says_so_in_one_error_line_and_a_rerun_completes(
    server: SandboxServer, tmp_path: Path
) -> None:
    start = END
    env = sandbox_env(server, tmp_path / "cli")
    # a storm whose Retry-After is past the client's five-minute budget: it gives up at once
    server.faults = FaultInjector(FaultPlan(storm_every=2, storm_length=1, storm_retry_after_seconds=900))
    try:
        result = run_cli("backfill", "--start", start.isoformat(), "--end", END.isoformat(), env=env)
    finally:
        server.faults = None
    assert result.exit_code == 1, result.output
    # One error line, last; before it, progress of steps that finished (the other fetching thread's).
    *progress, line = result.output.strip().splitlines()
    assert all(re.match(r"\[\d+/\d+ days\] run \d+/\d+ ", p) for p in progress), progress
    assert re.match(r"analytics-pipeline: error: [a-z_]+: HTTP 429 ResourceExhausted: injected", line), line
    assert "gave up after 1 attempt:" in line
    assert "retry budget of 300s" in line and "run the same command again to resume" in line
    assert "Traceback" not in result.output

    again = run_cli("backfill", "--start", start.isoformat(), "--end", END.isoformat(), env=env)
    assert again.exit_code == 0, again.output
    warehouse = Warehouse(tmp_path / "cli" / "data" / "warehouse.duckdb")
    assert loaded_days(warehouse, start, END, organization=DEFAULT_ORGANIZATION) == set(
        days_between(start, END)
    )
