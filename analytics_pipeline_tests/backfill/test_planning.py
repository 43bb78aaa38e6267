"""The request plan: exact counts per endpoint, the ETA, the live estimates and the ``plan`` command."""

from __future__ import annotations

import datetime as dt
import math
import re
from pathlib import Path

import duckdb
import pytest

from analytics_pipeline.api import AnalyticsClient
from analytics_pipeline.api.endpoints import BUDGET_OVERRIDES, LANDED
from analytics_pipeline.backfill import estimate as planning
from analytics_pipeline.backfill import steps
from analytics_pipeline.backfill.derivation import final_days
from analytics_pipeline.backfill.estimate import (
    CHECKS,
    MONTHLY,
    PLAN_ENDPOINTS,
    DayCounts,
    Derivation,
    check_windows,
    counts_from_org,
    eta_seconds,
    pages,
    plan_requests,
    spans,
)
from analytics_pipeline.backfill.estimate_live import (
    DEFAULT_FALLBACK_SHARE,
    DEFAULT_RATIOS,
    Ratios,
    days_needing_counts,
    estimate_counts,
    live_plan,
    read_history,
)
from analytics_pipeline.dates import (
    days_between,
    lookback_floor,
    month_end,
    month_start,
    monthly_range,
    utc_today,
    yesterday,
)
from analytics_pipeline.organization import DEFAULT_ORGANIZATION
from analytics_pipeline.privacy.secret import Secret
from analytics_pipeline.provisional import DEFAULT_RECHECK_DAYS
from analytics_pipeline.sandbox import SandboxServer, SyntheticOrg
from analytics_pipeline.warehouse import Warehouse
from analytics_pipeline_tests.conftest import SANDBOX_TOKEN, assert_one_line_error, run_cli, sandbox_env

D = dt.date
START, END = D(2024, 10, 1), D(2025, 1, 5)
"""97 days: two windows (2024-10-08..2025-01-05 and 2024-10-01..2024-10-07), four calendar months."""
FIXED_TODAY = D(2025, 6, 1)
NORMAL = DayCounts(active_users=10, editor_language_records=20, credit_records=5)
EMPTY = DayCounts(0, 0, 0)


def hand_counts(credit_on_nov_1: int = 5) -> dict[dt.date, DayCounts]:
    """Ten users a day, an empty Christmas, and four days at the page boundaries."""
    counts = dict.fromkeys(days_between(START, END), NORMAL)
    counts[D(2024, 12, 25)] = EMPTY
    counts[D(2024, 11, 1)] = DayCounts(100, 101, credit_on_nov_1)
    counts[D(2024, 11, 2)] = DayCounts(101, 100, 5)
    counts[D(2024, 11, 3)] = DayCounts(250, 20, 5)
    counts[D(2024, 11, 4)] = DayCounts(251, 20, 5)
    return counts


MONTHLY_USERS = {D(2024, 10, 1): 100, D(2024, 11, 1): 101, D(2024, 12, 1): 0, D(2025, 1, 1): 250}


# ------------------------------------------------------------------ pure arithmetic


@pytest.mark.parametrize(
    ("records", "page_max", "expected"),
    [
        (0, 100, 1),
        (1, 100, 1),
        (100, 100, 1),
        (101, 100, 2),
        (250, 250, 1),
        (251, 250, 2),
        (500, 500, 1),
        (501, 500, 2),
        (1000, 500, 2),
        (7, None, 1),
    ],
)
def test_pages(records: int, page_max: int | None, expected: int) -> None:
    assert pages(records, page_max) == expected


@pytest.mark.parametrize(
    ("requests", "per_minute", "burst", "seconds"),
    [(0, 10, 20, 0.0), (20, 10, 20, 0.0), (21, 10, 20, 6.0), (620, 10, 20, 3600.0), (100, 600, 20, 8.0)],
)
def test_eta_spends_the_burst_at_once_then_the_rate(
    requests: int, per_minute: float, burst: int, seconds: float
) -> None:
    assert eta_seconds(requests, per_minute, burst) == pytest.approx(seconds)


def test_spans_and_monthly_clamp() -> None:
    assert spans([D(2025, 1, 3), D(2025, 1, 1), D(2025, 1, 2), D(2025, 1, 9)]) == (
        (D(2025, 1, 1), D(2025, 1, 3)),
        (D(2025, 1, 9), D(2025, 1, 9)),
    )
    today = D(2026, 11, 22)  # lookback floor 2024-11-22 (asked from the day after), yesterday 2026-11-21
    assert monthly_range(D(2024, 11, 5), today) == (D(2024, 11, 23), D(2024, 11, 30))
    assert monthly_range(D(2026, 11, 1), today) == (D(2026, 11, 1), D(2026, 11, 21))
    assert monthly_range(D(2024, 2, 1), today) is None


@pytest.mark.parametrize(("credit_on_nov_1", "credit_pages"), [(60, 1 + 1), (61, 2 + 1)])
def test_plan_by_hand(credit_on_nov_1: int, credit_pages: int) -> None:
    # The 90-day window holds 89 normal days of 5 credit records plus Christmas (0): 445 - 5 + Nov 1st,
    # i.e. exactly 500 (one page) or 501 (two); the 7-day window adds one request.
    plan = plan_requests(days_between(START, END), hand_counts(credit_on_nov_1), monthly_users=MONTHLY_USERS)
    assert plan.requests == {
        "dau_count": 2,
        "dau": 97 + 1,  # 251 users need two pages of 250
        "daily_usage": 2,
        "user_activity": 93 + 1 + 2 + 3 + 3,  # 100, 101, 250, 251 users at 100 a page
        "editor_language": 96 + 2,  # 101 rows on Nov 1st
        "credit_usage": credit_pages,
        "budget_overrides": 2,
        MONTHLY: 1 + 2 + 1 + 3,  # an empty month still costs one request
    }
    assert list(plan.requests) == list(PLAN_ENDPOINTS)
    assert plan.total == sum(plan.requests.values())
    assert plan.all_exact and (plan.days, plan.days_loaded, plan.loaded_spans) == (97, 0, ())


def test_later_coarse_runs_confirm_the_budget_snapshot_with_one_request_each() -> None:
    days = days_between(D(2025, 1, 1), D(2025, 12, 31))  # 365 days: three coarse runs of at most 180
    plan = plan_requests(days, {}, monthly_users={}, endpoints=[BUDGET_OVERRIDES])
    assert plan.requests == {"budget_overrides": 2 + 1 + 1}
    assert planning.COARSE_RUN_DAYS == steps.COARSE_RUN_DAYS


def test_loaded_days_are_skipped_and_windows_formed_from_the_rest() -> None:
    gap = days_between(D(2024, 11, 10), D(2024, 11, 20))
    loaded = {(e.name, d) for e in LANDED for d in gap} | {("dau", D(2024, 11, 4)), (MONTHLY, D(2024, 10, 1))}
    plan = plan_requests(
        days_between(START, END), hand_counts(), monthly_users=MONTHLY_USERS, loaded=loaded, snapshots=2
    )
    # 86 days left: 2024-10-01..11-09 (40 days) and 11-21..2025-01-05 (46 days), two windows.
    assert plan.requests["dau_count"] == plan.requests["daily_usage"] == plan.requests["credit_usage"] == 2
    assert plan.requests["dau"] == 98 - 11 - 2
    assert plan.requests["budget_overrides"] == 4
    assert plan.requests[MONTHLY] == 7 - 1
    assert (plan.days_loaded, plan.loaded_spans) == (11, ((gap[0], gap[-1]),))


def test_a_fully_loaded_range_costs_nothing_and_counts_may_be_missing() -> None:
    days = days_between(D(2025, 1, 1), D(2025, 1, 3))
    loaded = {(e.name, d) for e in LANDED for d in days} | {(MONTHLY, D(2025, 1, 1))}
    plan = plan_requests(days, {}, monthly_users={}, loaded=loaded)
    assert plan.total == 0 and plan.days_loaded == 3


def test_missing_counts_are_an_error_not_an_undercount() -> None:
    with pytest.raises(ValueError, match="no counts for 2025-01-02"):
        plan_requests([D(2025, 1, 2)], {}, monthly_users={})


def test_estimated_lines_are_marked() -> None:
    plan = plan_requests(
        [D(2025, 1, 2)], {D(2025, 1, 2): NORMAL}, monthly_users={}, estimated={"credit_usage", MONTHLY}
    )
    assert [name for name, exact in plan.exact.items() if not exact] == ["credit_usage", MONTHLY]


# ------------------------------------------------------------------ exact counts from the sandbox


def _cost(records: int, page_max: int) -> int:
    return max(1, math.ceil(records / page_max))


def test_plan_from_the_sandbox_matches_its_api_views(org: SyntheticOrg) -> None:
    """Derived independently from the records the sandbox's endpoints return, page size by page size."""
    days = days_between(START, END)
    windows = [(D(2024, 10, 8), D(2025, 1, 5)), (D(2024, 10, 1), D(2024, 10, 7))]
    months = [
        (D(2024, 10, 1), D(2024, 10, 31)),
        (D(2024, 11, 1), D(2024, 11, 30)),
        (D(2024, 12, 1), D(2024, 12, 31)),
        (D(2025, 1, 1), D(2025, 1, 31)),
    ]
    expected = {
        "dau_count": 2,
        "dau": sum(_cost(len(org.dau_users(d)), 250) for d in days),
        "daily_usage": 2,
        "user_activity": sum(_cost(len(org.user_activity(d, d)), 100) for d in days),
        "editor_language": sum(_cost(len(org.editor_language(d)), 100) for d in days),
        "credit_usage": sum(
            _cost(len(org.credit_usage(lo, hi, by_date=True, by_model=True)), 500) for lo, hi in windows
        ),
        "budget_overrides": 2,
        MONTHLY: sum(_cost(len(org.user_activity(lo, hi)), 100) for lo, hi in months),
    }
    counts, monthly = counts_from_org(org, START, END, today=FIXED_TODAY)
    assert plan_requests(days, counts, monthly_users=monthly).requests == expected
    assert counts[D(2024, 12, 25)] == counts[D(2025, 1, 1)] == EMPTY  # holidays: nobody works
    assert expected["editor_language"] > len(days) and expected[MONTHLY] > len(months)  # pages split


# ------------------------------------------------------------------ the live side's estimates


def test_estimates_from_daily_active_users() -> None:
    ratios = Ratios(editor_language=1.5, credit=1.6, monthly=1.3)
    counts, monthly = estimate_counts({D(2025, 1, 30): 10, D(2025, 1, 31): 20, D(2025, 2, 1): 0}, ratios)
    assert counts[D(2025, 1, 31)] == DayCounts(20, 30, 32)
    assert monthly == {D(2025, 1, 1): 26, D(2025, 2, 1): 0}


def test_days_needing_counts_skip_what_is_loaded() -> None:
    days = [D(2025, 1, 1), D(2025, 1, 2)]
    counted = ("dau", "user_activity", "editor_language", "credit_usage")
    everything = {(name, d) for name in counted for d in days}
    assert days_needing_counts(days, everything) == days  # the month is still to load
    assert days_needing_counts(days, everything | {(MONTHLY, D(2025, 1, 1))}) == []


def _record(con: duckdb.DuckDBPyConnection, endpoint: str, day: dt.date, rows: int) -> None:
    con.execute(
        "insert into pipeline_partitions (endpoint, date, rows, requests, pages, status, fetched_at, "
        "loaded_at, organization) values (?, ?, ?, 1, 1, 'ok', now(), now(), ?)",
        [endpoint, day, rows, DEFAULT_ORGANIZATION],
    )


def test_history_from_the_warehouse(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    no_warehouse_yet = read_history(warehouse, START, END, organization=DEFAULT_ORGANIZATION)
    assert no_warehouse_yet.ratios == DEFAULT_RATIOS
    with warehouse.writer() as con:
        for day, users in ((D(2025, 1, 2), 10), (D(2025, 1, 3), 30)):
            _record(con, "dau", day, users)
            _record(con, "editor_language", day, users * 2)
            con.execute("insert into fct_dau_count values (?, ?, ?)", [day, users, DEFAULT_ORGANIZATION])
        _record(con, "credit_usage", D(2025, 1, 3), 15)
    history = read_history(warehouse, D(2025, 1, 2), D(2025, 1, 5), organization=DEFAULT_ORGANIZATION)
    assert history.dau == {D(2025, 1, 2): 10, D(2025, 1, 3): 30}
    assert ("editor_language", D(2025, 1, 2)) in history.loaded
    assert history.ratios.editor_language == pytest.approx(2.0)
    assert history.ratios.credit == pytest.approx(0.5)  # 15 records over the 30 users of that day
    assert history.ratios.monthly == DEFAULT_RATIOS.monthly
    assert history.ratios.learned == {"editor_language", "credit"}


def test_history_of_a_warehouse_a_kill_left_without_its_schema(tmp_path: Path) -> None:
    """A first run killed between creating the file and writing its tables: nothing is loaded yet."""
    path = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(path)).close()
    history = read_history(Warehouse(path), START, END, organization=DEFAULT_ORGANIZATION)
    assert history == read_history(
        Warehouse(tmp_path / "none.duckdb"), START, END, organization=DEFAULT_ORGANIZATION
    )
    assert history.loaded == frozenset() and history.dau == {} and history.ratios == DEFAULT_RATIOS


# ------------------------------------------------------------------ the command against the sandbox


def printed_requests(output: str) -> dict[str, tuple[int, str]]:
    """The plan's table: endpoint -> (requests, 'exact' or 'estimated')."""
    rows = re.findall(r"^\s+(\w+)\s+(\d+)\s+(exact|estimated)$", output, re.MULTILINE)
    return {name: (int(requests), kind) for name, requests, kind in rows}


@pytest.mark.usefixtures("clean_environment")
def test_plan_without_a_token_or_with_bad_dates() -> None:
    day = (dt.date.today() - dt.timedelta(days=3)).isoformat()
    assert_one_line_error(run_cli("plan", "--start", day, "--end", day), "AUGMENT_API_TOKEN is not set")
    result = run_cli("plan", "--start", "2026-01-05", "--end", "2026-01-02", env={"AUGMENT_API_TOKEN": "x"})
    assert_one_line_error(result, "is before --start")


@pytest.mark.usefixtures("clean_environment")
def test_plan_command_against_the_sandbox(sandbox: SandboxServer, org: SyntheticOrg, tmp_path: Path) -> None:
    end = yesterday(utc_today())
    start = end - dt.timedelta(days=99)
    before = sandbox.stats.by_path.get("/analytics/v0/dau-count", 0)
    env = sandbox_env(sandbox, tmp_path)
    result = run_cli("plan", "--start", start.isoformat(), "--end", end.isoformat(), "--no-derive", env=env)
    assert result.exit_code == 0, result.output
    counts, monthly = counts_from_org(org, start, end)
    exact = plan_requests(days_between(start, end), counts, monthly_users=monthly)
    table = printed_requests(result.output)
    assert list(table) == list(PLAN_ENDPOINTS)
    for name, (requests, kind) in table.items():
        assert kind == ("estimated" if name in ("editor_language", "credit_usage", MONTHLY) else "exact")
        if kind == "exact":
            assert requests == exact.requests[name], name
    assert re.search(rf"^\s+total\s+{sum(r for r, _ in table.values())}$", result.output, re.MULTILINE)
    assert "100 days, 0 already loaded (none)" in result.output
    assert "ETA " in result.output and "(defaults)" in result.output
    assert "The plan itself sent 2 requests (dau-count)." in result.output  # 100 days: two windows
    assert sandbox.stats.by_path["/analytics/v0/dau-count"] - before == 2


@pytest.mark.usefixtures("clean_environment")
def test_plan_then_backfill_sends_exactly_the_plan_then_plans_nothing(
    sandbox: SandboxServer, org: SyntheticOrg, tmp_path: Path
) -> None:
    end = yesterday(utc_today())
    start = end - dt.timedelta(days=2)
    env = sandbox_env(sandbox, tmp_path)
    backfill = run_cli("backfill", "--start", start.isoformat(), "--end", end.isoformat(), env=env)
    assert backfill.exit_code == 0, backfill.output
    with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True) as con:
        sql = "select endpoint, sum(requests) from pipeline_partitions group by all"
        sent = dict(con.execute(sql).fetchall())
    counts, monthly = counts_from_org(org, start, end)
    planned = plan_requests(days_between(start, end), counts, monthly_users=monthly).requests
    assert sent == planned  # the monthly pass included: its months cost what the plan says

    again = run_cli("plan", "--start", start.isoformat(), "--end", end.isoformat(), env=env)
    assert again.exit_code == 0, again.output
    assert f"3 days, 3 already loaded ({start}..{end})" in again.output
    replanned = printed_requests(again.output)
    assert all(replanned[e.name][0] == 0 for e in LANDED)
    # A month still running is fetched again until it has ended; a month that has ended is done.
    open_months = {month_start(d) for d in days_between(start, end) if month_end(d) > end}
    assert (replanned[MONTHLY][0] > 0) == bool(open_months)
    assert "learned from the warehouse: credit, editor_language" in again.output
    assert "The plan itself sent 0 requests" in again.output  # the warehouse knows the DAU already


@pytest.mark.usefixtures("clean_environment")
def test_plan_and_backfill_of_some_endpoints_only(
    sandbox: SandboxServer, org: SyntheticOrg, tmp_path: Path
) -> None:
    end = yesterday(utc_today())
    start = end - dt.timedelta(days=2)
    env = sandbox_env(sandbox, tmp_path)
    dates_args = (
        "--start",
        start.isoformat(),
        "--end",
        end.isoformat(),
        "--endpoints",
        "dau_count, credit_usage",
    )
    planned = run_cli("plan", *dates_args, env=env)
    assert planned.exit_code == 0, planned.output
    table = printed_requests(planned.output)
    assert list(table) == ["dau_count", "credit_usage"]
    counts, monthly = counts_from_org(org, start, end)
    exact = plan_requests(days_between(start, end), counts, monthly_users=monthly)
    assert table["dau_count"][0] == exact.requests["dau_count"] == 1

    before = sandbox.stats.total
    loaded = run_cli("backfill", *dates_args, env=env)
    assert loaded.exit_code == 0, loaded.output
    with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True) as con:
        sql = "select endpoint, count(*), sum(requests) from pipeline_partitions group by all order by 1"
        rows = con.execute(sql).fetchall()
    assert [(name, days) for name, days, _ in rows] == [("credit_usage", 3), ("dau_count", 3)]
    assert sum(requests for *_, requests in rows) == sandbox.stats.total - before
    assert "3 days, 0 already loaded" in loaded.output
    again = run_cli("backfill", *dates_args, env=env)
    assert "3 already loaded, 0 runs, 0 requests" in again.output


def test_a_plan_from_our_lookback_floor_leaves_out_the_day_the_api_no_longer_serves(
    api_a_day_ahead: tuple[SandboxServer, dt.date], tmp_path: Path
) -> None:
    server, today = api_a_day_ahead
    start = lookback_floor(today)
    client = AnalyticsClient(server.url, Secret(SANDBOX_TOKEN), today=lambda: today)
    with client:
        live = live_plan(client, Warehouse(tmp_path / "none.duckdb"), start, start + dt.timedelta(days=3))
    assert live.plan.days == 3
    assert live.dau_windows == ((start + dt.timedelta(days=1), start + dt.timedelta(days=3)),)
    assert server.stats.by_status == {200: 1}


@pytest.mark.usefixtures("clean_environment")
def test_a_deriving_plan_counts_what_the_backfill_sends(
    sandbox: SandboxServer, org: SyntheticOrg, tmp_path: Path
) -> None:
    """The plan of a deriving backfill (the default): final days cost no dau or user-activity request but
    the expected fallback's, edge months one check each; the backfill then sends exactly the plan with
    the fallback it met (none, on the sandbox)."""
    today = utc_today()
    end = yesterday(today)
    start = end - dt.timedelta(days=39)
    days = days_between(start, end)
    env = sandbox_env(sandbox, tmp_path)
    result = run_cli("plan", "--start", start.isoformat(), "--end", end.isoformat(), env=env)
    assert result.exit_code == 0, result.output
    final = set(final_days(days, today, DEFAULT_RECHECK_DAYS))
    windows = check_windows(days, final, frozenset(), today)
    assert windows  # 40 days always start inside a month
    counts, monthly = counts_from_org(org, start, end)
    expected = plan_requests(
        days, counts, monthly_users=monthly, derivation=Derivation(final, DEFAULT_FALLBACK_SHARE, windows)
    )
    table = printed_requests(result.output)
    assert table[CHECKS][1] == "estimated"  # a page per 100 of the month's users, estimated
    for name in ("dau", "user_activity"):
        assert table[name] == (expected.requests[name], "estimated"), name
    assert f"Derived: dau and user-activity of {len(final)} final days" in result.output
    assert "5%, a default" in result.output

    before = sandbox.stats.total
    backfill = run_cli("backfill", "--start", start.isoformat(), "--end", end.isoformat(), env=env)
    assert backfill.exit_code == 0, backfill.output
    with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True) as con:
        sql = "select endpoint, sum(requests) from pipeline_partitions group by all"
        sent = dict(con.execute(sql).fetchall())
    exact = plan_requests(days, counts, monthly_users=monthly, derivation=Derivation(final, 0.0, windows))
    exact.requests.pop(CHECKS)  # estimated from the month's users: the window's are fewer
    assert sent == exact.requests
    checked = sum(pages(len(org.user_activity(*window)), 100) for window in windows.values())
    assert sandbox.stats.total - before - sum(sent.values()) == checked
    again = run_cli("plan", "--start", start.isoformat(), "--end", end.isoformat(), env=env)
    assert "0%, learned from the warehouse's days" not in again.output  # nothing left to derive
    assert "40 days, 40 already loaded" in again.output
