"""A week through the whole pipeline against the sandbox, checked against the sandbox's own numbers."""

import datetime as dt
from collections.abc import Iterator

import dagster as dg
import duckdb
import pytest

from analytics_pipeline.api.endpoints import LANDED, METRICS
from analytics_pipeline.backfill.in_process import execute_range
from analytics_pipeline.backfill.scheduler import backfill
from analytics_pipeline.backfill.steps import plan_steps
from analytics_pipeline.dates import days_between, month_end, month_start
from analytics_pipeline.landing import RawStore
from analytics_pipeline.sandbox import SandboxServer, SyntheticOrg
from analytics_pipeline.warehouse import Warehouse
from analytics_pipeline_tests.conftest import Pipeline, warehouse_snapshot

METRIC_SUMS = ", ".join(f"sum({m})::bigint" for m in METRICS)
FACT_TABLES = [e.fact_table for e in LANDED]


def _key(record: dict) -> str:
    return record.get("user_email") or "service_account:" + record["service_account_name"]


@pytest.fixture
def week_loaded(pipeline: Pipeline, sandbox: SandboxServer, last_week: tuple[dt.date, dt.date]) -> Pipeline:
    sandbox.stats.reset()
    execute_range(pipeline.defs, *last_week, dg.DagsterInstance.ephemeral())
    return pipeline


@pytest.fixture
def loaded(week_loaded: Pipeline) -> Iterator[duckdb.DuckDBPyConnection]:
    with Warehouse(week_loaded.data_dir / "warehouse.duckdb").reader() as con:
        yield con


def _rows(con: duckdb.DuckDBPyConnection, sql: str, *params: object) -> list[tuple]:
    return con.execute(sql, list(params)).fetchall()


def test_dau_count_matches_sandbox_and_dau_users(
    loaded: duckdb.DuckDBPyConnection, org: SyntheticOrg, last_week: tuple[dt.date, dt.date]
) -> None:
    expected = {dt.date.fromisoformat(r["date"]): r["user_count"] for r in org.dau_count(*last_week)}
    assert dict(_rows(loaded, "select date, user_count from fct_dau_count")) == expected
    users = dict(_rows(loaded, "select date, count(*) from fct_dau_users group by date"))
    assert {d: users.get(d, 0) for d in expected} == expected
    for day in days_between(*last_week):
        landed = {r[0] for r in _rows(loaded, "select user_key from fct_dau_users where date = ?", day)}
        assert landed == {_key(r) for r in org.dau_users(day)}


def test_daily_usage_equals_sum_of_user_activity_equals_sum_of_editor_language(
    loaded: duckdb.DuckDBPyConnection, org: SyntheticOrg, last_week: tuple[dt.date, dt.date]
) -> None:
    usage = _rows(loaded, f"select date, {METRIC_SUMS} from fct_daily_usage group by date order by date")
    activity = _rows(loaded, f"select date, {METRIC_SUMS} from fct_user_activity group by date order by date")
    by_editor = _rows(
        loaded, f"select date, {METRIC_SUMS} from fct_editor_language_activity group by date order by date"
    )
    assert usage == activity == by_editor
    expected = [
        (dt.date.fromisoformat(r["date"]), *(r["metrics"][m] for m in METRICS))
        for r in org.daily_usage(*last_week)
    ]
    assert usage == expected


def test_user_activity_per_day_matches_sandbox(
    loaded: duckdb.DuckDBPyConnection, org: SyntheticOrg, last_week: tuple[dt.date, dt.date]
) -> None:
    for day in days_between(*last_week):
        expected = {_key(r): tuple(r["metrics"][m] for m in METRICS) for r in org.user_activity(day, day)}
        landed = {
            row[0]: tuple(row[1:])
            for row in _rows(
                loaded, f"select user_key, {', '.join(METRICS)} from fct_user_activity where date = ?", day
            )
        }
        assert landed == expected


def test_credit_usage_matches_sandbox(
    loaded: duckdb.DuckDBPyConnection, org: SyntheticOrg, last_week: tuple[dt.date, dt.date]
) -> None:
    expected = {
        (dt.date.fromisoformat(r["date"]), _key(r), r["model_name"]): r["credits_consumed"]
        for r in org.credit_usage(*last_week, by_date=True, by_model=True)
    }
    landed = {
        (row[0], row[1], row[2]): row[3]
        for row in _rows(loaded, "select date, user_key, model_name, credits_consumed from fct_credit_usage")
    }
    assert landed == expected


def test_budget_overrides_snapshot_every_day(
    loaded: duckdb.DuckDBPyConnection, org: SyntheticOrg, last_week: tuple[dt.date, dt.date]
) -> None:
    overrides = org.get_budget_overrides()
    per_day = dict(_rows(loaded, "select snapshot_date, count(*) from fct_budget_overrides group by all"))
    assert per_day == {day: len(overrides) for day in days_between(*last_week)}


def test_keys_are_unique_at_each_grain(loaded: duckdb.DuckDBPyConnection) -> None:
    grains = {
        "fct_dau_count": "date",
        "fct_dau_users": "date, user_key",
        "fct_daily_usage": "date",
        "fct_user_activity": "date, user_key",
        "fct_editor_language_activity": "date, user_key, language, editor",
        "fct_credit_usage": "date, user_key, model_name",
        "fct_budget_overrides": "snapshot_date, user_key, resource, period",
        "dim_users": "user_key",
        "pipeline_partitions": "endpoint, date",
    }
    for table, grain in grains.items():
        dupes = _rows(loaded, f"select {grain}, count(*) from {table} group by all having count(*) > 1")
        assert dupes == [], table


def test_dim_users_and_pipeline_partitions(
    loaded: duckdb.DuckDBPyConnection, sandbox: SandboxServer, last_week: tuple[dt.date, dt.date]
) -> None:
    seen = _rows(loaded, "select count(distinct user_key) from fct_dau_users")[0][0]
    assert _rows(loaded, "select count(*) from dim_users where first_active_date is not null")[0][0] == seen
    daily = "select count(*) from pipeline_partitions where endpoint <> 'user_activity_monthly'"
    assert _rows(loaded, daily)[0][0] == len(LANDED) * 7
    # Every request the sandbox answered is accounted for, and none was refused.
    assert _rows(loaded, "select sum(requests) from pipeline_partitions")[0][0] == sandbox.stats.total
    assert sandbox.stats.rate_limited == 0
    # One request serves the week for each range endpoint that dates its records.
    assert (
        _rows(loaded, "select sum(requests) from pipeline_partitions where endpoint = 'dau_count'")[0][0] == 1
    )


def test_rerunning_a_partition_changes_nothing(
    week_loaded: Pipeline, last_week: tuple[dt.date, dt.date]
) -> None:
    pipeline = week_loaded
    before = warehouse_snapshot(pipeline.data_dir)
    day = last_week[1] - dt.timedelta(days=2)
    execute_range(pipeline.defs, day, day, dg.DagsterInstance.ephemeral())
    assert warehouse_snapshot(pipeline.data_dir) == before


def test_backfill_skips_loaded_days_and_resumes(
    pipeline: Pipeline, sandbox: SandboxServer, last_week: tuple[dt.date, dt.date]
) -> None:
    warehouse = Warehouse(pipeline.data_dir / "warehouse.duckdb")
    store = RawStore(pipeline.data_dir / "raw")
    start, end = last_week
    sandbox.stats.reset()
    first = backfill(
        pipeline.defs,
        warehouse,
        store,
        end - dt.timedelta(days=2),
        end,
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert (first.days_total, first.days_skipped) == (3, 0)
    assert [s.phase for s in plan_steps(days_between(end - dt.timedelta(days=2), end), set(), set())] == [
        "coarse",
        "credit",
        "detail",
    ]
    assert first.requests == sandbox.stats.total
    sandbox.stats.reset()
    progress = []
    second = backfill(
        pipeline.defs,
        warehouse,
        store,
        start,
        end,
        instance=dg.DagsterInstance.ephemeral(),
        on_progress=progress.append,
    )
    assert (second.days_total, second.days_skipped) == (7, 3)
    assert progress[-1].days_done == progress[-1].days_total == 7
    assert second.requests == sandbox.stats.total
    sandbox.stats.reset()
    third = backfill(pipeline.defs, warehouse, store, start, end, instance=dg.DagsterInstance.ephemeral())
    assert (third.days_skipped, third.runs, third.requests) == (7, 0, 0)
    assert sandbox.stats.total == 0


def test_monthly_activity_matches_sandbox(
    loaded: duckdb.DuckDBPyConnection, org: SyntheticOrg, last_week: tuple[dt.date, dt.date]
) -> None:
    for month in sorted({month_start(d) for d in days_between(*last_week)}):
        end = min(month_end(month), last_week[1])
        expected = {
            _key(r): (r["active_days"], *(r["metrics"][m] for m in METRICS))
            for r in org.user_activity(month, end)
        }
        landed = {
            row[0]: tuple(row[1:])
            for row in _rows(
                loaded,
                f"select user_key, active_days, {', '.join(METRICS)} "
                "from fct_user_activity_monthly where month = ?",
                month,
            )
        }
        assert landed == expected
