"""The usage report: its data against numbers computed independently from the sandbox's organisation,
the HTML it renders, the command, the asset, and the page in a real browser (headless Chromium).

The warehouse holds the two weeks around the most recent New Year, loaded through the whole job (the
``usage_report`` asset included). The report's period is the second week, 31 December to 6 January,
and its previous period the first, 24 to 30 December. Christmas and New Year are loaded without
activity; 30 December (previous period) is missing altogether and 2 January (this period) lacks its
editor-language partition, so both are missing to the report. Four members get credit overrides in
January's snapshot at known fractions of what they spent.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import re
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
import pandas as pd
import pytest

from analytics_pipeline.api.endpoints import METRICS
from analytics_pipeline.dates import days_between, utc_today
from analytics_pipeline.organization import DEFAULT_ORGANIZATION
from analytics_pipeline.report import (
    REPORT_FILE,
    Period,
    publish_report,
    render_html,
    report_data,
    resolve_period,
    write_atomically,
)
from analytics_pipeline.report.data import (
    LINE_COLUMNS,
    MESSAGE_COLUMNS,
    NoLoadedDays,
    ReportData,
    UnknownOrganization,
)
from analytics_pipeline.report.render import CHART_JS_SHA256, CHART_JS_VERSION, chart_js
from analytics_pipeline.sandbox import SandboxServer, SyntheticOrg
from analytics_pipeline.warehouse import Warehouse
from analytics_pipeline.warehouse.analysis import analysis_digest, installed_digest
from analytics_pipeline_tests.conftest import assert_one_line_error, run_cli
from analytics_pipeline_tests.warehouse.test_analysis import (
    add_organization,
    copy_warehouse,
    forget_day,
    keep_only_organization,
    load_window,
    new_year_window,
)

START, END = new_year_window(utc_today())
PERIOD = Period(END - dt.timedelta(days=6), END)  # 31 December .. 6 January
PREVIOUS = Period(START, PERIOD.start - dt.timedelta(days=1))  # 24 .. 30 December
CHRISTMAS = START + dt.timedelta(days=1)
MISSING = START + dt.timedelta(days=6)  # 30 December: nothing loaded
NEW_YEAR = PERIOD.start + dt.timedelta(days=1)
HALF_LOADED = NEW_YEAR + dt.timedelta(days=1)  # 2 January: editor_language not loaded
LOADED = [d for d in days_between(START, END) if d not in (MISSING, HALF_LOADED)]
GENERATED_AT = dt.datetime(2027, 1, 7, 6, 30, tzinfo=dt.UTC)
CREDITS = "BUDGET_RESOURCE_CREDITS_CONSUMED"
MONTHLY = "BUDGET_PERIOD_MONTHLY"
BUDGET_SHARES = (1.05, 0.95, 0.80, 0.30)
"""What four members spent in January, as a fraction of the limit they are given."""
CHROMIUM = Path("/usr/bin/chromium")


# -- the warehouse -------------------------------------------------------------------------------------


def _january_credits(org: SyntheticOrg) -> pd.Series:
    days = [d for d in LOADED if d.month == 1]
    frame = pd.concat([org.activity(d) for d in days])
    people = frame[frame["user_email"].notna()]
    return people.groupby("user_key")["credits_consumed"].sum().sort_values(ascending=False)


def _set_budgets(con: duckdb.DuckDBPyConnection, org: SyntheticOrg) -> dict[str, float]:
    """Limits for the four biggest January spenders at known shares of their spend; returns them."""
    spent = _january_credits(org)
    limits = {}
    for user, share in zip(spent.index[: len(BUDGET_SHARES)], BUDGET_SHARES, strict=True):
        limits[user] = round(float(spent[user]) / share)
        con.execute(
            "delete from fct_budget_overrides where snapshot_date = ? and user_key = ? and resource = ?",
            [END, user, CREDITS],
        )
        con.execute(
            "insert into fct_budget_overrides values (?, ?, ?, null, ?, ?, ?, now(), ?)",
            [END, user, user, CREDITS, MONTHLY, limits[user], DEFAULT_ORGANIZATION],
        )
    return limits


@pytest.fixture(scope="module")
def loaded_run(
    sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dg.ExecuteInProcessResult]:
    data_dir = tmp_path_factory.mktemp("report") / "data"
    return data_dir, load_window(sandbox, data_dir, START, END)


@pytest.fixture(scope="module")
def data_dir(loaded_run: tuple[Path, dg.ExecuteInProcessResult], org: SyntheticOrg) -> Path:
    data_dir, _ = loaded_run
    with Warehouse(data_dir / "warehouse.duckdb").writer() as con:
        forget_day(con, MISSING)
        con.execute(
            "delete from pipeline_partitions where date = ? and endpoint = 'editor_language'", [HALF_LOADED]
        )
        _set_budgets(con, org)
        con.execute("update pipeline_partitions set provisional = false")  # the tests below set some
    return data_dir


@pytest.fixture(scope="module")
def warehouse(data_dir: Path) -> Warehouse:
    return Warehouse(data_dir / "warehouse.duckdb")


@pytest.fixture(scope="module")
def con(warehouse: Warehouse) -> Iterator[duckdb.DuckDBPyConnection]:
    with warehouse.reader() as connection:
        yield connection


@pytest.fixture(scope="module")
def data(con: duckdb.DuckDBPyConnection) -> ReportData:
    return report_data(con, PERIOD, generated_at=GENERATED_AT)


@pytest.fixture(scope="module")
def activity(org: SyntheticOrg) -> pd.DataFrame:
    """The sandbox's activity rows on the loaded days: what every expectation is computed from."""
    frame = org.activity_range(PREVIOUS.start - dt.timedelta(days=27), END)
    return frame[frame["date"].isin(LOADED)].reset_index(drop=True)


def _between(frame: pd.DataFrame, start: dt.date, end: dt.date) -> pd.DataFrame:
    return frame[(frame["date"] >= start) & (frame["date"] <= end)]


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


# -- the period ----------------------------------------------------------------------------------------


def test_default_period_is_the_latest_28_days_within_what_is_loaded(con: duckdb.DuckDBPyConnection) -> None:
    assert resolve_period(con) == Period(START, END)  # only 14 days are loaded
    assert resolve_period(con, end=END) == Period(END - dt.timedelta(days=27), END)
    assert resolve_period(con, start=PERIOD.start) == PERIOD
    assert resolve_period(con, PERIOD.start, PERIOD.end) == PERIOD
    assert PERIOD.previous() == PREVIOUS
    with pytest.raises(ValueError, match="is before --start"):
        resolve_period(con, END, START)
    with pytest.raises(ValueError, match="after the latest loaded day"):
        resolve_period(con, start=END + dt.timedelta(days=1))


def test_an_empty_warehouse_has_no_period(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    with warehouse.writer():
        pass
    with warehouse.reader() as con, pytest.raises(NoLoadedDays, match="no loaded day"):
        resolve_period(con)


# -- the data ------------------------------------------------------------------------------------------


def _expected_kpis(frame: pd.DataFrame) -> dict[str, float | None]:
    sums = {m: float(frame[m].sum()) for m in METRICS}
    return {
        "active_users": float(frame["user_key"].nunique()),
        "total_messages": sums["total_messages"],
        "total_modified_lines_of_code": sums["total_modified_lines_of_code"],
        "completion_acceptance_rate": _ratio(sums["completions_accepted"], sums["completions_count"]),
        "line_acceptance_rate": _ratio(
            sums["completions_lines_of_code"], sums["completions_suggested_lines_of_code"]
        ),
        "credits_consumed": float(frame["credits_consumed"].sum()),
    }


def test_kpis_and_their_change_against_the_previous_period(data: ReportData, activity: pd.DataFrame) -> None:
    now = _expected_kpis(_between(activity, PERIOD.start, PERIOD.end))
    before = _expected_kpis(_between(activity, PREVIOUS.start, PREVIOUS.end))
    assert [k.key for k in data.kpis] == list(now)
    for kpi in data.kpis:
        assert kpi.value == pytest.approx(now[kpi.key]), kpi.key
        assert kpi.previous == pytest.approx(before[kpi.key]), kpi.key
        if kpi.kind == "rate":
            assert kpi.change == pytest.approx(now[kpi.key] - before[kpi.key]), kpi.key
        else:
            assert kpi.change == pytest.approx(now[kpi.key] / before[kpi.key] - 1), kpi.key
    assert (data.period.days_in_range, data.period.days_loaded, data.period.days_missing) == (7, 6, 1)
    assert (data.previous.start, data.previous.end, data.previous.days_loaded) == (
        PREVIOUS.start,
        PREVIOUS.end,
        6,
    )


def test_a_previous_period_with_nothing_loaded_has_no_change(con: duckdb.DuckDBPyConnection) -> None:
    report = report_data(con, Period(START, END), generated_at=GENERATED_AT)
    assert report.previous.days_loaded == 0
    assert all(k.previous is None and k.change is None for k in report.kpis)
    assert all(k.value is not None for k in report.kpis)


def _period_start(grain: str, day: dt.date) -> dt.date:
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    return day.replace(day=1) if grain == "month" else day


def _trailing(frame: pd.DataFrame, day: dt.date) -> dict[str, float | None]:
    """DAU, and the distinct members of the 7 and 28 days ending on ``day`` (None: nothing loaded)."""
    windows = {"dau": 1, "wau": 7, "mau": 28}
    values: dict[str, float | None] = {}
    for name, days in windows.items():
        first = day - dt.timedelta(days=days - 1)
        loaded = any(first <= d <= day for d in LOADED)
        values[name] = float(_between(frame, first, day)["user_key"].nunique()) if loaded else None
    return values


@pytest.mark.parametrize("grain", ["day", "week", "month"])
def test_timeseries(data: ReportData, activity: pd.DataFrame, grain: str) -> None:
    series = data.timeseries[grain]
    days = days_between(PERIOD.start, PERIOD.end)
    starts = sorted({_period_start(grain, d) for d in days})
    assert series.period_start == starts
    assert len(series.labels) == len(starts)
    for i, start in enumerate(starts):
        in_period = [d for d in days if _period_start(grain, d) == start]
        loaded = [d for d in in_period if d in LOADED]
        frame = activity[activity["date"].isin(loaded)]
        assert (series.days_in_range[i], series.days_loaded[i]) == (len(in_period), len(loaded))
        for surface, column in MESSAGE_COLUMNS.items():
            assert series.messages_by_surface[surface][i] == (int(frame[column].sum()) if loaded else None)
        for surface, column in LINE_COLUMNS.items():
            assert series.lines_by_surface[surface][i] == (int(frame[column].sum()) if loaded else None)
        accepted, shown = frame["completions_accepted"].sum(), frame["completions_count"].sum()
        assert series.completion_acceptance_rate[i] == pytest.approx(_ratio(accepted, shown))
        by_model = frame.groupby("model_name")["credits_consumed"].sum()
        for model, values in series.credits_by_model.items():
            assert values[i] == (pytest.approx(float(by_model.get(model, 0))) if loaded else None), model
        # Active users: the day's values, or their mean over the period's days on which each is known.
        daily = [_trailing(activity, d) for d in in_period]
        for name in ("dau", "wau", "mau"):
            known = [v[name] for v in daily if v[name] is not None]
            expected = sum(known) / len(known) if known else None
            assert getattr(series, name)[i] == pytest.approx(expected), (name, start)


def test_timeseries_of_days_know_missing_days_and_holidays(data: ReportData) -> None:
    series = data.timeseries["day"]
    day = series.period_start.index(HALF_LOADED)
    assert series.days_loaded[day] == 0 and series.dau[day] is None
    assert series.messages_by_surface["chat"][day] is None
    holiday = series.period_start.index(NEW_YEAR)
    assert series.dau[holiday] == 0 and series.messages_by_surface["chat"][holiday] == 0
    assert series.completion_acceptance_rate[holiday] is None  # nothing shown: no rate
    assert series.wau[holiday] is not None and series.wau[holiday] > 0  # the week before was active
    credits = [sum(v[i] or 0 for v in series.credits_by_model.values()) for i in range(len(series.labels))]
    assert sum(credits) == pytest.approx(next(k.value for k in data.kpis if k.key == "credits_consumed"))


def test_breakdowns(data: ReportData, activity: pd.DataFrame) -> None:
    frame = _between(activity, PERIOD.start, PERIOD.end)
    for rows, column in ((data.editors, "editor"), (data.languages, "language")):
        groups = frame.groupby(column)
        assert {r.name for r in rows} == set(groups.groups)
        for row in rows:
            group = groups.get_group(row.name)
            assert row.active_users == group["user_key"].nunique()
            assert row.lines_of_code == int(group["total_modified_lines_of_code"].sum())
            assert row.messages == int(group["total_messages"].sum())
        lines = [r.lines_of_code for r in rows]
        assert lines == sorted(lines, reverse=True)
    surfaces = {r.surface: r for r in data.surfaces}
    assert list(surfaces) == [
        "completions",
        "chat",
        "remote_agent",
        "ide_agent",
        "cli_interactive",
        "cli_non_interactive",
    ]
    assert surfaces["completions"].messages == int(frame["completions_count"].sum())
    assert surfaces["chat"].lines_of_code is None
    for surface, column in LINE_COLUMNS.items():
        assert surfaces[surface].lines_of_code == int(frame[column].sum())
    spent = frame[frame["credits_consumed"] > 0].groupby("model_name")
    assert {m.model_name: m.credits_consumed for m in data.models} == pytest.approx(
        {k: float(v) for k, v in spent["credits_consumed"].sum().items()}
    )
    assert {m.model_name: m.users for m in data.models} == spent["user_key"].nunique().to_dict()


def test_top_users(data: ReportData, activity: pd.DataFrame) -> None:
    frame = _between(activity, PERIOD.start, PERIOD.end)
    per_user = frame.groupby("user_key").agg(
        lines=("total_modified_lines_of_code", "sum"),
        credits=("credits_consumed", "sum"),
        email=("user_email", "first"),
        service=("service_account_name", "first"),
    )
    per_user["shown"] = per_user["email"].fillna(per_user["service"])
    by_lines = per_user.reset_index().sort_values(["lines", "user_key"], ascending=[False, True]).head(10)
    assert [(r.user, r.lines_of_code) for r in data.top_users_by_lines] == list(
        zip(by_lines["shown"], by_lines["lines"].astype(int), strict=True)
    )
    by_credits = per_user.reset_index().sort_values(["credits", "user_key"], ascending=[False, True]).head(10)
    assert [r.user for r in data.top_users_by_credits] == list(by_credits["shown"])
    assert [r.credits_consumed for r in data.top_users_by_credits] == pytest.approx(
        list(by_credits["credits"])
    )
    # Emails exactly as the warehouse stores them; service accounts by name, and marked.
    services = [r for r in data.top_users_by_lines + data.top_users_by_credits if r.is_service_account]
    assert all("@" not in r.user for r in services)
    assert all("@" in r.user for r in data.top_users_by_lines if not r.is_service_account)


def test_budgets(data: ReportData, con: duckdb.DuckDBPyConnection, org: SyntheticOrg) -> None:
    january = [d for d in LOADED if d.month == 1]
    spent = pd.concat([org.activity(d) for d in january]).groupby("user_key")["credits_consumed"].sum()
    overrides = con.execute(
        "select user_key, limit_value from fct_budget_overrides where snapshot_date = ? and resource = ?",
        [END, CREDITS],
    ).fetchall()
    percent = {user: 100 * float(spent.get(user, 0)) / float(limit) for user, limit in overrides}
    projected = {user: p / len(january) * 31 for user, p in percent.items()}
    budgets = data.budgets
    assert (budgets.month, budgets.as_of_date, budgets.days_loaded, budgets.days_in_month) == (
        END.replace(day=1),
        END,
        len(january),
        31,
    )
    assert budgets.overrides == len(overrides)
    assert budgets.above == {str(t): sum(1 for p in percent.values() if p >= t) for t in (75, 90, 100)}
    assert budgets.above == {"75": 3, "90": 2, "100": 1}  # the shares given in the fixture
    assert budgets.projected_over == sum(1 for p in projected.values() if p >= 100)
    listed = {r.user: r for r in budgets.rows}
    assert set(listed) >= {u for u, p in percent.items() if p >= 75}
    for user, row in listed.items():
        assert row.percent_used == pytest.approx(percent[user])
        assert row.projected_percent == pytest.approx(projected[user])
        assert row.threshold == max((t for t in (75, 90, 100) if percent[user] >= t), default=None)
    top = budgets.rows[0]
    assert top.threshold == 100 and top.limit_reached_date is not None


def test_completeness_strip(data: ReportData) -> None:
    days = {d.date: d for d in data.days}
    assert list(days) == days_between(PREVIOUS.start, PERIOD.end)
    assert {d for d, s in days.items() if s.in_period} == set(days_between(PERIOD.start, PERIOD.end))
    assert days[CHRISTMAS].state == days[NEW_YEAR].state == "empty"
    assert days[MISSING].state == "missing" and len(days[MISSING].missing_endpoints) == 4
    assert (days[HALF_LOADED].state, days[HALF_LOADED].missing_endpoints) == ("missing", ["editor_language"])
    assert {s.state for d, s in days.items() if d in LOADED and d not in (CHRISTMAS, NEW_YEAR)} == {"loaded"}


def _report_of_copy(warehouse: Warehouse, tmp_path: Path, *statements: tuple[str, list]) -> ReportData:
    copy = Warehouse(tmp_path / "warehouse.duckdb")
    shutil.copy(warehouse.path, copy.path)
    with copy.writer() as con:
        for sql, params in statements:
            con.execute(sql, params)
    with copy.reader() as con:
        return report_data(con, PERIOD, generated_at=GENERATED_AT)


def test_provisional_days(warehouse: Warehouse, tmp_path: Path) -> None:
    """A day is provisional (its numbers may still change) when any endpoint the report reads is."""
    report = _report_of_copy(
        warehouse,
        tmp_path,
        ("update pipeline_partitions set provisional = (date = ? and endpoint = 'dau')", [END]),
    )
    states = {d.date: d.state for d in report.days}
    assert states[END] == "provisional"
    assert states[END - dt.timedelta(days=1)] == "loaded" and states[HALF_LOADED] == "missing"


def test_days_the_api_no_longer_serves_are_beyond_reach_not_missing(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    """Two years and 40 days on (the newest fetch says so), the days never loaded are beyond the API's
    reach: the grid, the counts and the notes say so, and nothing is marked missing."""
    later = dt.datetime.combine(END + dt.timedelta(days=2 * 365 + 40), dt.time(2, 30), dt.UTC)
    report = _report_of_copy(
        warehouse,
        tmp_path,
        ("update pipeline_partitions set fetched_at = ? where date = ? and endpoint = 'dau'", [later, END]),
    )
    states = {d.date: d.state for d in report.days}
    assert states[MISSING] == states[HALF_LOADED] == "beyond_reach"
    assert "missing" not in states.values()
    assert {states[d] for d in LOADED} <= {"loaded", "empty"}  # loaded long ago: still loaded
    assert (report.period.days_missing, report.period.days_beyond_reach) == (0, 1)
    page = render_html(report)
    assert "1 of 7 days of this period were never loaded and are beyond the API&#39;s reach" in page
    assert "beyond the API's reach (older than its 2-year lookback, never loaded) · 1" in page


def test_the_dataset_is_plain_json(data: ReportData) -> None:
    text = json.dumps(data.to_json(), allow_nan=False)
    back = json.loads(text)
    assert back["period"]["start"] == PERIOD.start.isoformat()
    assert set(back["timeseries"]) == {"day", "week", "month"}
    assert list(back["timeseries"]["day"]["messages_by_surface"]) == list(MESSAGE_COLUMNS)


# -- the page ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def html(data: ReportData) -> str:
    return render_html(data)


def test_the_page_is_self_contained(html: str) -> None:
    assert not re.search(r"<(script|link|img|iframe)\b[^>]*\b(src|href)=", html, re.IGNORECASE)
    styles = html.split("<style>")[1].split("</style>")[0]
    assert "@import" not in styles and "url(" not in styles  # no web fonts, no images
    assert "default-src 'none'" in html  # the page may not fetch anything, even by mistake
    assert f"Chart.js v{CHART_JS_VERSION}" in html and "sourceMappingURL" not in html
    assert len(html.encode()) < 400_000


def test_the_vendored_chart_js_is_the_published_file() -> None:
    assert (
        CHART_JS_SHA256
        in (Path(__file__).parents[2] / "analytics_pipeline/report/vendor/README.md").read_text()
    )
    assert chart_js().startswith("/*!\n * Chart.js v4.6.1")


def test_the_page_shows_tiles_tables_and_notes(data: ReportData, html: str) -> None:
    assert html.count('class="card kpi"') == 6
    for row in data.top_users_by_lines:
        assert f">{row.user}<" in html
    assert "1 of 7 days of this period are not loaded" in html
    assert "1 of 7 days of the previous period are not loaded" in html
    assert html.count('class="day ') == 14


def test_what_the_page_shows_is_escaped(data: ReportData) -> None:
    hostile = "</script><img src=x onerror=alert(1)>@example.com"
    first = dataclasses.replace(data.top_users_by_lines[0], user=hostile)
    page = render_html(dataclasses.replace(data, top_users_by_lines=[first, *data.top_users_by_lines[1:]]))
    assert "<img src=x" not in page
    assert "&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;@example.com" in page  # in the table
    assert "\\u003c/script\\u003e\\u003cimg src=x onerror=alert(1)\\u003e@example.com" in page  # in the JSON


# -- writing, the command and the asset ----------------------------------------------------------------


def test_write_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "usage.html"
    assert write_atomically(target, "old") == 3
    assert stat.S_IMODE(target.stat().st_mode) == 0o600

    def fail(src: Any, dst: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_atomically(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["usage.html"]  # no temporary file left


def test_publish_report(warehouse: Warehouse, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    before = warehouse.path.stat().st_mtime_ns
    report = publish_report(warehouse, out, start=PERIOD.start, end=PERIOD.end, now=GENERATED_AT)
    assert (report.path, report.period, report.days_loaded) == (out, PERIOD, 6)
    assert report.bytes == out.stat().st_size and stat.S_IMODE(out.stat().st_mode) == 0o600
    assert "Generated 7 Jan 2027, 06:30 UTC" in out.read_text()
    assert warehouse.path.stat().st_mtime_ns == before  # read-only


# -- many organisations --------------------------------------------------------------------------------

BETA = "beta"


@pytest.fixture(scope="module")
def two_orgs(
    warehouse: Warehouse, activity: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory
) -> Warehouse:
    """The module's warehouse (organisation ``default``) and a second organisation, ``beta``, with every
    other member's rows: the same emails, the same days."""
    path = copy_warehouse(warehouse.path, tmp_path_factory.mktemp("two-orgs") / "data")
    with Warehouse(path).writer(memory_limit="512MB") as con:
        add_organization(con, BETA, sorted(set(activity["user_key"]))[1::2])
    return Warehouse(path)


@pytest.fixture(scope="module")
def beta_only(two_orgs: Warehouse, tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    path = copy_warehouse(two_orgs.path, tmp_path_factory.mktemp("beta-only") / "data")
    with Warehouse(path).writer() as con:
        keep_only_organization(con, BETA)
    return Warehouse(path)


def _kpi(data: ReportData, key: str) -> float | None:
    (value,) = [k.value for k in data.kpis if k.key == key]
    return value


def test_the_report_over_all_organisations_adds_them_up(two_orgs: Warehouse, data: ReportData) -> None:
    with two_orgs.reader() as con:
        everyone = report_data(con, PERIOD, generated_at=GENERATED_AT)
        each = {
            o: report_data(con, PERIOD, generated_at=GENERATED_AT, organization=o)
            for o in (BETA, DEFAULT_ORGANIZATION)
        }
    assert (everyone.organization, everyone.organizations) == (None, [BETA, DEFAULT_ORGANIZATION])
    assert [r.organization for r in everyone.by_organization] == [BETA, DEFAULT_ORGANIZATION]
    for key, column in (
        ("active_users", "active_users"),
        ("total_messages", "messages"),
        ("total_modified_lines_of_code", "lines_of_code"),
    ):
        total = _kpi(everyone, key)
        assert total == sum(_kpi(e, key) or 0 for e in each.values()), key  # a member of both counts twice
        assert total == sum(getattr(r, column) for r in everyone.by_organization), key
    assert _kpi(everyone, "credits_consumed") == pytest.approx(
        sum(r.credits_consumed or 0 for r in everyone.by_organization)
    )
    assert sum(r.share_of_credits or 0 for r in everyone.by_organization) == pytest.approx(1)
    # the default organisation alone reads as the warehouse that held only it
    assert dataclasses.replace(each[DEFAULT_ORGANIZATION], organization=None, organizations=[]) == (
        dataclasses.replace(data, organizations=[])
    )
    assert each[BETA].by_organization == [] and data.by_organization == []
    tops = [(r.organization, r.user) for r in everyone.top_users_by_credits]
    assert len(tops) == len(set(tops)) and {o for o, _ in tops} <= {BETA, DEFAULT_ORGANIZATION}


def test_an_organisations_report_reads_as_a_warehouse_holding_only_it(
    two_orgs: Warehouse, beta_only: Warehouse
) -> None:
    with two_orgs.reader() as con:
        filtered = report_data(con, PERIOD, generated_at=GENERATED_AT, organization=BETA)
        assert resolve_period(con, organization=BETA) == Period(START, END)
    with beta_only.reader() as con:
        alone = report_data(con, PERIOD, generated_at=GENERATED_AT)
    assert alone.organizations == [BETA]
    assert dataclasses.replace(filtered, organization=None, organizations=[BETA]) == alone


def test_the_page_names_organisations_only_when_there_are_several(
    two_orgs: Warehouse, data: ReportData, tmp_path: Path
) -> None:
    everyone = publish_report(
        two_orgs, tmp_path / "all.html", start=PERIOD.start, end=PERIOD.end, now=GENERATED_AT
    )
    page = everyone.path.read_text()
    assert everyone.organization is None
    assert '<span class="scope">· all organisations</span>' in page
    assert re.findall(r'<tr data-organization="([^"]+)">', page) == [BETA, DEFAULT_ORGANIZATION]
    assert 'class="tag org">beta<' in page and 'class="tag org">default<' in page
    one = publish_report(two_orgs, tmp_path / "beta.html", now=GENERATED_AT, organization=BETA)
    page = one.path.read_text()
    assert (one.organization, one.period) == (BETA, Period(START, END))
    assert '<span class="scope">· beta</span>' in page
    assert 'id="organizations"' not in page and "tag org" not in page
    single = render_html(data)  # one organisation in the warehouse: no organisation anywhere on the page
    assert 'class="scope"' not in single and 'id="organizations"' not in single and "tag org" not in single
    with pytest.raises(
        UnknownOrganization,
        match=re.escape("holds nothing of organisation 'nobody' (it holds: beta, default)"),
    ):
        publish_report(two_orgs, tmp_path / "nobody.html", now=GENERATED_AT, organization="nobody")
    assert not (tmp_path / "nobody.html").exists()


def test_report_refreshes_an_outdated_analysis_layer(warehouse: Warehouse, tmp_path: Path) -> None:
    copy = Warehouse(tmp_path / "warehouse.duckdb")
    shutil.copy(warehouse.path, copy.path)
    with copy.writer() as con:
        con.execute("drop macro table credits_timeseries")
        con.execute("update analysis_installed set digest = 'older'")
    report = publish_report(copy, tmp_path / "usage.html", start=PERIOD.start, end=PERIOD.end)
    assert report.days_loaded == 6


class CountingWarehouse(Warehouse):
    """A warehouse that counts the writers opened on it."""

    writers = 0

    @contextlib.contextmanager
    def writer(self, *, memory_limit: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        self.writers += 1
        with super().writer(memory_limit=memory_limit) as con:
            yield con


def test_the_report_opens_a_writer_only_to_install_a_stale_analysis_layer(
    warehouse: Warehouse, tmp_path: Path
) -> None:
    copy = CountingWarehouse(tmp_path / "warehouse.duckdb")
    shutil.copy(warehouse.path, copy.path)
    publish_report(copy, tmp_path / "usage.html", start=PERIOD.start, end=PERIOD.end)
    assert copy.writers == 0
    with Warehouse(copy.path).writer() as con:  # as if last loaded by an older version
        con.execute("update analysis_installed set digest = 'older'")
    publish_report(copy, tmp_path / "usage.html", start=PERIOD.start, end=PERIOD.end)
    assert copy.writers == 1
    with copy.reader() as con:
        assert installed_digest(con) == analysis_digest()


def test_report_command(data_dir: Path, tmp_path: Path) -> None:
    env = {"ANALYTICS_DATA_DIR": str(data_dir)}
    out = tmp_path / "usage.html"
    result = run_cli(
        "report",
        "--start",
        PERIOD.start.isoformat(),
        "--end",
        PERIOD.end.isoformat(),
        "--out",
        str(out),
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert f"Wrote the report for {PERIOD.start}..{PERIOD.end} (6 of 7 days loaded) to {out}" in result.output
    assert out.is_file()
    default = run_cli("report", env=env)
    assert default.exit_code == 0, default.output
    assert f"for {START}..{END} (12 of 14 days loaded) to {data_dir / REPORT_FILE}" in default.output


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--start", "2026-13-01"], "--start must be a date in YYYY-MM-DD"),
        (["--start", "2026-01-05", "--end", "2026-01-02"], "is before --start"),
        (["--end", "2999-01-01"], "not a complete UTC day yet"),
        (["--out", "/nonexistent-dir/usage.html"], "--out directory /nonexistent-dir does not exist"),
    ],
)
def test_report_command_bad_input(data_dir: Path, args: list[str], fragment: str) -> None:
    assert_one_line_error(run_cli("report", *args, env={"ANALYTICS_DATA_DIR": str(data_dir)}), fragment)


@pytest.mark.usefixtures("clean_environment")
def test_report_command_without_a_warehouse_or_a_loaded_day(tmp_path: Path) -> None:
    assert_one_line_error(run_cli("report"), "no warehouse at data/warehouse.duckdb")
    with Warehouse(tmp_path / "data" / "warehouse.duckdb").writer():
        pass
    assert_one_line_error(run_cli("report"), "the warehouse has no loaded day yet")


def test_the_asset_wrote_the_report_during_the_run(
    loaded_run: tuple[Path, dg.ExecuteInProcessResult],
) -> None:
    data_dir, result = loaded_run
    assert result.success
    events = [
        e.materialization
        for e in result.get_asset_materialization_events()
        if e.materialization.asset_key == dg.AssetKey("usage_report")
    ]
    # One execution over the run's 14 partitions, recorded once per partition with the same metadata.
    assert sorted(e.partition for e in events) == [d.isoformat() for d in days_between(START, END)]
    assert len({str(e.metadata["path"]) for e in events}) == 1
    metadata = events[0].metadata
    path = data_dir / REPORT_FILE
    assert metadata["path"] == dg.MetadataValue.path(str(path))
    assert (metadata["period_start"].value, metadata["period_end"].value) == (
        START.isoformat(),
        END.isoformat(),
    )
    assert metadata["days_loaded"].value == 14  # before the fixture made two days missing
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert '<canvas id="chart-active"' in path.read_text()


# -- in a real browser ---------------------------------------------------------------------------------

CHARTS = (
    "chart-active",
    "chart-messages",
    "chart-lines",
    "chart-acceptance",
    "chart-credits",
    "chart-surfaces",
    "chart-models",
    "chart-editors",
    "chart-languages",
)
TIME_CHARTS = CHARTS[:5]
# Chromium as root, offline: no sandbox (root), and none of its background connections (they would
# be refused here, noisily), in a profile of its own.
CHROMIUM_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
# The chart's drawn pixels: how many are not transparent (a blank canvas has none).
INK_JS = """(id) => {
  const canvas = document.getElementById(id);
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let ink = 0;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) ink++;
  return {width: canvas.width, height: canvas.height, ink, chart: !!Chart.getChart(canvas)};
}"""
SERIES_JS = """(id) => {
  const chart = Chart.getChart(document.getElementById(id));
  return {labels: chart.data.labels, data: chart.data.datasets.map((d) => d.data)};
}"""


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"Debian's chromium is not installed ({CHROMIUM}); .ci/run installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=list(CHROMIUM_FLAGS),
            offline=True,
            viewport={"width": 1280, "height": 900},
        )
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


def test_the_report_renders_offline_in_chromium(
    page: Any, html: str, data: ReportData, tmp_path: Path
) -> None:
    report = tmp_path / "usage.html"
    report.write_text(html, encoding="utf-8")
    requests: list[str] = []
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))

    def only_the_file(route: Any) -> None:
        requests.append(route.request.url)
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            route.abort()

    page.context.route("**/*", only_the_file)
    page.goto(report.as_uri())
    page.wait_for_load_state("load")

    assert errors == []
    assert requests == [report.as_uri()]  # nothing but the file itself
    assert page.locator(".kpi").count() == 6
    assert page.locator(".kpi .value").all_inner_texts()[0] == str(int(data.kpis[0].value or 0))
    assert page.locator(".strip .day").count() == 14
    assert page.locator(".strip .day.missing").count() == 2
    assert page.locator("#top-users tbody tr").count() == len(data.top_users_by_lines) + len(
        data.top_users_by_credits
    )
    for chart in CHARTS:
        drawn = page.evaluate(INK_JS, chart)
        assert drawn["chart"] and drawn["width"] > 200 and drawn["height"] > 100, (chart, drawn)
        assert drawn["ink"] > 0.01 * drawn["width"] * drawn["height"], (chart, drawn)

    # The switch redraws every trend at the chosen grain, from the data embedded in the file.
    before = page.evaluate(INK_JS, "chart-messages")
    for grain in ("week", "month", "day"):
        page.get_by_role("button", name=grain.capitalize()).click()
        assert page.get_by_role("button", name=grain.capitalize()).get_attribute("aria-pressed") == "true"
        for chart in TIME_CHARTS:
            assert page.evaluate(SERIES_JS, chart)["labels"] == data.timeseries[grain].labels, (grain, chart)
        messages = page.evaluate(SERIES_JS, "chart-messages")["data"]
        assert messages == list(data.timeseries[grain].messages_by_surface.values()), grain
        if grain == "week":
            assert page.evaluate(INK_JS, "chart-messages")["ink"] != before["ink"]
            page.screenshot(path=str(tmp_path / "report-week.png"), full_page=True)
    assert errors == [] and requests == [report.as_uri()]
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert (tmp_path / "report.png").stat().st_size > 50_000
