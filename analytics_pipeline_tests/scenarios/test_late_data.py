"""Late and restated data: nightly runs re-check provisional days and re-load the ones that changed.

The sandbox's organisation delivers some members' rows one or two days late (``late_days``), as real
analytics backends do. The clock is fixed with time-machine (ticking, so timeouts and the rate limiter
work), and moved forward a day between nights.
"""

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import time_machine

from analytics_pipeline.api.endpoints import ASSET_ENDPOINTS, DAU, LANDED
from analytics_pipeline.backfill.in_process import execute_range
from analytics_pipeline.config.settings import Settings
from analytics_pipeline.dates import days_between
from analytics_pipeline.defs.build import build_definitions
from analytics_pipeline.defs.resources import AnalyticsApiResource
from analytics_pipeline.landing import Lander
from analytics_pipeline.late_data.recheck import Rechecker
from analytics_pipeline.provisional import age, is_provisional, recheck_window
from analytics_pipeline.sandbox import SandboxServer, SyntheticOrg
from analytics_pipeline_tests.conftest import (
    SANDBOX_TOKEN,
    TEST_BURST,
    TEST_REQUESTS_PER_MINUTE,
    Pipeline,
    run_cli,
    warehouse_snapshot,
)

D = dt.date
FIRST_NIGHT = dt.datetime(2026, 6, 10, 2, 30, tzinfo=dt.UTC)
NIGHTS = 4
RECHECK_DAYS = 3
START = D(2026, 6, 1)


def late_org() -> SyntheticOrg:
    return SyntheticOrg(seed=5, people=30, service_accounts=2, late_days=2, late_share=0.4)


def _env(server: SandboxServer, data_dir: Path) -> dict[str, str]:
    return {
        "AUGMENT_API_TOKEN": SANDBOX_TOKEN,
        "AUGMENT_API_BASE_URL": server.url,
        "ANALYTICS_DATA_DIR": str(data_dir),
        "ANALYTICS_START_DATE": START.isoformat(),
        "ANALYTICS_RECHECK_DAYS": str(RECHECK_DAYS),
        "AUGMENT_API_REQUESTS_PER_MINUTE": str(TEST_REQUESTS_PER_MINUTE),
        "AUGMENT_API_BURST": str(TEST_BURST),
    }


def _sandbox(org: SyntheticOrg) -> SandboxServer:
    return SandboxServer(
        org, tokens=(SANDBOX_TOKEN,), requests_per_minute=TEST_REQUESTS_PER_MINUTE, burst=TEST_BURST
    )


def _query(data_dir: Path, sql: str, params: dict | None = None) -> list[tuple]:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql, params).fetchall()


# -- the rules ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("run_days", "today", "expected"),
    [
        ([D(2026, 6, 9)], D(2026, 6, 10), days_between(D(2026, 6, 6), D(2026, 6, 8))),  # the nightly
        ([D(2026, 6, 8), D(2026, 6, 9)], D(2026, 6, 10), [D(2026, 6, 6), D(2026, 6, 7)]),
        ([D(2026, 5, 1)], D(2026, 6, 10), []),  # an old day: the days before it are final
        ([D(2026, 6, 2)], D(2026, 6, 10), []),
        ([D(2026, 6, 7)], D(2026, 6, 10), [D(2026, 6, 6)]),  # only the still provisional days before it
    ],
)
def test_recheck_window(run_days: list[D], today: D, expected: list[D]) -> None:
    assert recheck_window(run_days, today, RECHECK_DAYS, first_day=D(2026, 1, 1)) == expected


def test_recheck_window_stops_at_the_first_partition_and_can_be_off() -> None:
    assert recheck_window([D(2026, 6, 9)], D(2026, 6, 10), 3, first_day=D(2026, 6, 8)) == [D(2026, 6, 8)]
    assert recheck_window([D(2026, 6, 9)], D(2026, 6, 10), 0, first_day=D(2026, 1, 1)) == []


def test_a_day_is_provisional_until_checked_recheck_days_after_publication() -> None:
    day = D(2026, 6, 9)
    assert age(day, D(2026, 6, 10)) == 0
    assert [is_provisional(day, day + dt.timedelta(days=n), 3) for n in range(1, 6)] == [
        True,
        True,
        True,
        False,
        False,
    ]


def test_late_rows_grow_a_day_until_it_settles() -> None:
    org = late_org()
    day = D(2026, 6, 9)
    counts = [
        org.seen_on(day + dt.timedelta(days=n)).dau_count(day, day)[0]["user_count"] for n in (1, 2, 3, 9)
    ]
    settled = SyntheticOrg(seed=5, people=30, service_accounts=2).dau_count(day, day)[0]["user_count"]
    assert counts[0] < counts[1] < counts[2] == counts[3] == settled


# -- nights of the pipeline ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def nights(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, list[dict]]]:
    """Four nightly runs against late data; then, at the same moment, a fresh backfill of the same days."""
    data_dir = tmp_path_factory.mktemp("late") / "data"
    reference_dir = tmp_path_factory.mktemp("reference") / "data"
    outputs = []
    with time_machine.travel(FIRST_NIGHT, tick=True) as traveller, _sandbox(late_org()) as server:
        for night in range(NIGHTS):
            result = run_cli("nightly", env=_env(server, data_dir))
            assert result.exit_code == 0, result.output
            outputs.append({"output": result.output, "requests": server.stats.total})
            if night < NIGHTS - 1:
                traveller.shift(dt.timedelta(days=1))
        last_day = (FIRST_NIGHT + dt.timedelta(days=NIGHTS - 2)).date()
        first_day = FIRST_NIGHT.date() - dt.timedelta(days=1 + RECHECK_DAYS)
        result = run_cli(
            "backfill",
            "--start",
            first_day.isoformat(),
            "--end",
            last_day.isoformat(),
            env=_env(server, reference_dir),
        )
        assert result.exit_code == 0, result.output
    yield data_dir, reference_dir, outputs


def test_nightly_runs_end_with_the_warehouse_a_fresh_load_would_give(nights) -> None:
    data_dir, reference_dir, _ = nights
    assert warehouse_snapshot(data_dir) == warehouse_snapshot(reference_dir)


def test_changed_days_were_reloaded_and_unchanged_ones_confirmed(nights) -> None:
    data_dir, _, outputs = nights
    outcomes = _query(
        data_dir,
        "select checked_at::date, date, outcome, changed_endpoints from pipeline_rechecks order by all",
    )
    by_night: dict[D, dict[D, str]] = {}
    for night, day, outcome, _changed in outcomes:
        by_night.setdefault(night, {})[day] = outcome
    first = FIRST_NIGHT.date()
    # The first night finds the three days before yesterday never loaded, and loads them.
    assert by_night[first] == {D(2026, 6, 6): "missing", D(2026, 6, 7): "missing", D(2026, 6, 8): "missing"}
    # Later nights: the two most recent days grew (late rows arrived); the third was already settled.
    for n in range(1, NIGHTS):
        night = first + dt.timedelta(days=n)
        yesterday = night - dt.timedelta(days=1)
        assert by_night[night] == {
            yesterday - dt.timedelta(days=1): "changed",
            yesterday - dt.timedelta(days=2): "changed",
            yesterday - dt.timedelta(days=3): "unchanged",
        }
    changed = {tuple(c) for *_, outcome, c in outcomes if outcome == "changed"}
    assert changed == {("dau_count", "daily_usage", "credit_usage")}
    assert (
        "Re-checked 3 provisional days 2026-06-06..2026-06-08: 0 unchanged; 3 not loaded"
        in outputs[0]["output"]
    )
    assert "1 unchanged; 2 changed and re-loaded (2026-06-08, 2026-06-09)" in outputs[1]["output"]


def test_provisional_and_final_days(nights) -> None:
    data_dir, _, _ = nights
    last_night = (FIRST_NIGHT + dt.timedelta(days=NIGHTS - 1)).date()
    rows = _query(data_dir, "select endpoint, date, provisional, checked_at::date from pipeline_partitions")
    daily = {e.name for e in LANDED} - {"budget_overrides"}
    for endpoint, day, provisional, checked_on in rows:
        if endpoint in daily:
            assert provisional == (age(day, last_night) < RECHECK_DAYS), (endpoint, day)
            assert checked_on == min(last_night, day + dt.timedelta(days=RECHECK_DAYS + 1)), (endpoint, day)
        elif endpoint == "user_activity_monthly":
            assert provisional  # June is not over
        else:
            assert provisional is False
    calendar = _query(
        data_dir,
        "select date from analysis_calendar($start, $end) where provisional order by 1",
        {"start": START, "end": last_night},
    )
    assert [d for (d,) in calendar] == days_between(
        last_night - dt.timedelta(days=3), last_night - dt.timedelta(days=1)
    )


def test_an_unchanged_recheck_sends_one_request_per_range_endpoint(
    pipeline: Pipeline, sandbox: SandboxServer, last_week: tuple[D, D]
) -> None:
    start, end = last_week
    execute_range(pipeline.defs, start, end, dg.DagsterInstance.ephemeral())
    storage = pipeline.defs.resources["storage"]
    days = days_between(end - dt.timedelta(days=2), end)
    before = sandbox.stats.total
    api = AnalyticsApiResource(
        base_url=sandbox.url,
        token=SANDBOX_TOKEN,
        requests_per_minute=TEST_REQUESTS_PER_MINUTE,
        burst=TEST_BURST,
        data_dir=str(pipeline.data_dir),
    )
    with api.client() as client:
        outcome = Rechecker(Lander(client, storage.raw_store()), storage.warehouse(), RECHECK_DAYS).run(days)
    assert [d.outcome for d in outcome.days] == ["unchanged"] * 3
    # The session's organisation is small enough for one page of credit records over three days.
    assert outcome.requests == sandbox.stats.total - before == 3
    assert sorted({e.name for e, _ in outcome.loaded}) == ["credit_usage", "daily_usage", "dau_count"]


def test_a_recheck_fetches_a_damaged_per_day_partition_anew(
    pipeline: Pipeline, sandbox: SandboxServer, last_week: tuple[D, D]
) -> None:
    start, end = last_week
    execute_range(pipeline.defs, start, end, dg.DagsterInstance.ephemeral())
    storage = pipeline.defs.resources["storage"]
    days = days_between(end - dt.timedelta(days=2), end)
    store = storage.raw_store()
    path = store.partition_path(DAU, days[1])
    good = store.read(DAU, days[1])
    path.write_bytes(path.read_bytes()[:-100])
    api = AnalyticsApiResource(
        base_url=sandbox.url,
        token=SANDBOX_TOKEN,
        requests_per_minute=TEST_REQUESTS_PER_MINUTE,
        burst=TEST_BURST,
        data_dir=str(pipeline.data_dir),
    )
    with api.client() as client:
        outcome = Rechecker(Lander(client, store), storage.warehouse(), RECHECK_DAYS).run(days)
    assert [d.outcome for d in outcome.days] == ["unchanged"] * 3
    assert (DAU, days[1]) in outcome.loaded
    assert [str(d.path) for d in store.quarantined] == [str(path)]
    assert store.read(DAU, days[1]).equals(good)


def test_every_table_holds_the_days_the_nights_covered(nights) -> None:
    data_dir, _, _ = nights
    last_day = (FIRST_NIGHT + dt.timedelta(days=NIGHTS - 2)).date()
    first_day = FIRST_NIGHT.date() - dt.timedelta(days=1 + RECHECK_DAYS)
    for endpoint in ASSET_ENDPOINTS:
        if endpoint.monthly:
            continue
        days = _query(
            data_dir,
            "select date from pipeline_partitions where endpoint = $endpoint order by date",
            {"endpoint": endpoint.name},
        )
        assert [d for (d,) in days] == days_between(first_day, last_day), endpoint.name


def test_freshness_checks_warn_until_yesterday_is_loaded(tmp_path: Path) -> None:
    env = {"AUGMENT_API_TOKEN": SANDBOX_TOKEN, "ANALYTICS_START_DATE": START.isoformat()}
    with time_machine.travel(dt.datetime(2026, 6, 10, 5, 0, tzinfo=dt.UTC), tick=False):
        defs = build_definitions(Settings.from_env(env, env_file=tmp_path / "no.env"))
        freshness = [c for c in defs.asset_checks if any("freshness" in s.name for s in c.check_specs)]
        job = dg.define_asset_job("freshness", selection=dg.AssetSelection.checks(*freshness))
        job_def = dg.Definitions.merge(defs, dg.Definitions(jobs=[job])).resolve_job_def("freshness")
        instance = dg.DagsterInstance.ephemeral()
        stale = job_def.execute_in_process(instance=instance).get_asset_check_evaluations()
        assert {e.asset_key.to_user_string() for e in stale if not e.passed} == {
            *(e.fact_table for e in ASSET_ENDPOINTS),
            "dim_users",
        }
        instance.report_runless_asset_event(dg.AssetMaterialization("fct_dau_count", partition="2026-06-09"))
        fresh = job_def.execute_in_process(instance=instance).get_asset_check_evaluations()
        assert {e.asset_key.to_user_string() for e in fresh if e.passed} == {"fct_dau_count"}


def test_a_restated_day_reloaded_by_the_recheck_gets_new_metadata_and_check_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with time_machine.travel(FIRST_NIGHT, tick=True) as traveller, _sandbox(late_org()) as server:
        env = _env(server, tmp_path / "data")
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        settings = Settings.from_env(env, env_file=tmp_path / "no.env")
        with dg.DagsterInstance.ephemeral() as instance:
            first = FIRST_NIGHT.date() - dt.timedelta(days=1)
            assert execute_range(build_definitions(settings), first, first, instance).success
            traveller.shift(dt.timedelta(days=1))
            night = execute_range(
                build_definitions(settings),
                first + dt.timedelta(days=1),
                first + dt.timedelta(days=1),
                instance,
            )
    assert night.success
    recheck = [e for e in night.all_events if e.step_key == "pipeline_rechecks"]
    reloaded = [
        e.event_specific_data.materialization
        for e in recheck
        if e.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION
    ]
    reloaded = [m for m in reloaded if m.asset_key != dg.AssetKey("pipeline_rechecks")]
    # The first night's day grew with late rows: re-loaded, with what its partition now holds.
    assert {(m.asset_key.to_user_string(), m.partition) for m in reloaded} >= {
        ("raw_dau", first.isoformat()),
        ("fct_dau_users", first.isoformat()),
    }
    for m in reloaded:
        description = m.description or ""
        assert "its numbers changed" in description or "not loaded before" in description
        if m.partition == first.isoformat():
            assert "its numbers changed" in description
        assert {"rows", "requests", "pages", "fetched_at"} <= set(m.metadata)
    dau = next(
        m
        for m in reloaded
        if m.asset_key == dg.AssetKey("fct_dau_users") and m.partition == first.isoformat()
    )
    rows = _query(tmp_path / "data", "select count(*) from fct_dau_users where date = $d", {"d": first})
    assert dau.metadata["rows"].value == rows[0][0]
    # ... and its checks run again on the data now loaded.
    checked = [
        e.event_specific_data for e in recheck if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
    ]
    assert {(c.asset_key.to_user_string(), c.check_name) for c in checked} >= {
        ("fct_dau_users", "unique_keys"),
        ("fct_dau_users", "matches_dau_count"),
    }
    assert first.isoformat() in {c.partition for c in checked if c.asset_key == dg.AssetKey("fct_dau_users")}
    assert all(c.passed for c in checked), [
        (c.asset_key, c.check_name, c.partition, c.description) for c in checked if not c.passed
    ]
