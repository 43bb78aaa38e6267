"""The analysis macros and views, against a small warehouse loaded from the sandbox.

The warehouse holds the two weeks around the most recent New Year (both holidays, 12-25 and 01-01, are
loaded with no activity), minus one day made missing; every expected number is computed independently
from the sandbox's own activity table with pandas.
"""

import datetime as dt
import math
import shutil
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest

from analytics_pipeline.api.endpoints import METRICS
from analytics_pipeline.backfill.in_process import execute_range
from analytics_pipeline.config.settings import Settings
from analytics_pipeline.dates import days_between, utc_today
from analytics_pipeline.defs.build import build_definitions
from analytics_pipeline.organization import DEFAULT_ORGANIZATION
from analytics_pipeline.sandbox import SandboxServer, SyntheticOrg
from analytics_pipeline.warehouse import Warehouse
from analytics_pipeline.warehouse.analysis import MACROS, VIEWS, install_analysis
from analytics_pipeline.warehouse.load import DATE_COLUMN
from analytics_pipeline_tests.conftest import SANDBOX_TOKEN, TEST_BURST, TEST_REQUESTS_PER_MINUTE

CREDITS = "BUDGET_RESOURCE_CREDITS_CONSUMED"
MONTHLY = "BUDGET_PERIOD_MONTHLY"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "warehouse.md"


# -- a small warehouse from the sandbox (shared with test_checks and test_export) -------------------------


def new_year_window(today: dt.date) -> tuple[dt.date, dt.date]:
    """24 December to 6 January of the latest New Year already past: both holidays, ISO week, month and
    year boundaries, always within the API's 2-year lookback."""
    year = today.year if today > dt.date(today.year, 1, 7) else today.year - 1
    return dt.date(year - 1, 12, 24), dt.date(year, 1, 6)


def pipeline_env(sandbox: SandboxServer, data_dir: Path) -> dict[str, str]:
    return {
        "AUGMENT_API_TOKEN": SANDBOX_TOKEN,
        "AUGMENT_API_BASE_URL": sandbox.url,
        "ANALYTICS_DATA_DIR": str(data_dir),
        "AUGMENT_API_REQUESTS_PER_MINUTE": str(TEST_REQUESTS_PER_MINUTE),
        "AUGMENT_API_BURST": str(TEST_BURST),
    }


def pipeline_defs(env: dict[str, str], *, checks: bool = False) -> dg.Definitions:
    """The pipeline's definitions (its warehouse checks and their job included, whatever ``checks``)."""
    return build_definitions(Settings.from_env(env, env_file=Path("/nonexistent/.env")))


def load_window(
    sandbox: SandboxServer, data_dir: Path, start: dt.date, end: dt.date, *, checks: bool = False
) -> dg.ExecuteInProcessResult:
    """Run the whole job over ``start..end`` into ``data_dir`` (the token only set while it runs)."""
    env = pipeline_env(sandbox, data_dir)
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        return execute_range(pipeline_defs(env, checks=checks), start, end, dg.DagsterInstance.ephemeral())


def forget_day(con: duckdb.DuckDBPyConnection, day: dt.date) -> None:
    """Make ``day`` missing: its rows and its pipeline_partitions records gone, as if never loaded."""
    for table, column in DATE_COLUMN.items():
        if column != "month":
            con.execute(f"delete from {table} where {column} = ?", [day])
    con.execute("delete from pipeline_partitions where date = ?", [day])


WINDOW = new_year_window(utc_today())
START, END = WINDOW
MISSING = START + dt.timedelta(days=6)  # 30 December, a Tuesday
CHRISTMAS = START + dt.timedelta(days=1)
NEW_YEAR = END - dt.timedelta(days=5)
DECEMBER_END = NEW_YEAR - dt.timedelta(days=1)
LOADED = [d for d in days_between(START, END) if d != MISSING]


@pytest.fixture(scope="module")
def warehouse_path(
    sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory, org: SyntheticOrg
) -> Path:
    data_dir = tmp_path_factory.mktemp("analysis") / "data"
    load_window(sandbox, data_dir, START, END)
    path = data_dir / "warehouse.duckdb"
    with Warehouse(path).writer() as con:
        install_analysis(con)
        forget_day(con, MISSING)
        _set_budgets(con, org)
    return path


@pytest.fixture(scope="module")
def con(warehouse_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with Warehouse(warehouse_path).reader() as connection:
        yield connection


@pytest.fixture(scope="module")
def activity(org: SyntheticOrg) -> pd.DataFrame:
    """The sandbox's activity rows on the loaded days: what every expectation is computed from."""
    frame = org.activity_range(START, END)
    return frame[frame["date"] != MISSING].reset_index(drop=True)


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: object = None) -> list[dict]:
    result = con.execute(sql, params)
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def _one(con: duckdb.DuckDBPyConnection, sql: str, params: object = None) -> dict:
    (row,) = _rows(con, sql, params)
    return row


# -- expectations, from the sandbox's activity -------------------------------------------------------------


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _rates(sums: dict, users: int, per: str) -> dict:
    """The rates of the definitions in docs/analysis.md (``per``: active_user or active_day)."""
    return {
        "completion_acceptance_rate": _ratio(sums.get("completions_accepted"), sums.get("completions_count")),
        "line_acceptance_rate": _ratio(
            sums.get("completions_lines_of_code"), sums.get("completions_suggested_lines_of_code")
        ),
        f"messages_per_{per}": _ratio(sums.get("total_messages"), users),
        f"lines_per_{per}": _ratio(sums.get("total_modified_lines_of_code"), users),
    }


def _usage(frame: pd.DataFrame, *, loaded: int, credits: bool = True) -> dict:
    """What the usage macros report for the activity rows of ``frame`` (on ``loaded`` loaded days)."""
    if loaded == 0:
        nothing = dict.fromkeys(
            ["active_users", "active_people", "active_service_accounts", *METRICS, "credits_consumed"]
        )
        return {**nothing, **dict.fromkeys(_rates({}, 0, "active_user"))}
    sums = {m: int(frame[m].sum()) for m in METRICS}
    service = frame["service_account_name"].notna()
    users = frame["user_key"].nunique()
    return {
        "active_users": users,
        "active_people": frame.loc[~service, "user_key"].nunique(),
        "active_service_accounts": frame.loc[service, "user_key"].nunique(),
        **sums,
        **_rates(sums, users, "active_user"),
        "credits_consumed": float(frame["credits_consumed"].sum()) if credits else None,
    }


def _between(frame: pd.DataFrame, start: dt.date, end: dt.date) -> pd.DataFrame:
    return frame[(frame["date"] >= start) & (frame["date"] <= end)]


def _loaded_between(start: dt.date, end: dt.date) -> int:
    return sum(1 for d in LOADED if start <= d <= end)


def _days(start: dt.date, end: dt.date) -> int:
    return max((end - start).days + 1, 0)


# -- usage_summary -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end"),
    [
        pytest.param(START, END, id="whole-window-with-a-missing-day"),
        pytest.param(START + dt.timedelta(days=2), START + dt.timedelta(days=2), id="single-day"),
        pytest.param(CHRISTMAS, CHRISTMAS, id="loaded-day-without-activity"),
        pytest.param(MISSING, MISSING, id="missing-day"),
        pytest.param(START - dt.timedelta(days=10), START - dt.timedelta(days=1), id="nothing-loaded"),
        pytest.param(END, START, id="empty-range"),
        pytest.param(DECEMBER_END, NEW_YEAR, id="across-the-year-boundary"),
    ],
)
def test_usage_summary(
    con: duckdb.DuckDBPyConnection, activity: pd.DataFrame, start: dt.date, end: dt.date
) -> None:
    row = _one(con, "select * from usage_summary(?, ?)", [start, end])
    loaded = _loaded_between(start, end)
    assert row == {
        "start_date": start,
        "end_date": end,
        "days_in_range": _days(start, end),
        "days_loaded": loaded,
        "days_missing": _days(start, end) - loaded,
        "days_beyond_reach": 0,
        **_usage(_between(activity, start, end), loaded=loaded),
    }


def test_a_loaded_day_without_activity_is_zero_and_a_missing_day_is_unknown(
    con: duckdb.DuckDBPyConnection,
) -> None:
    holiday = _one(con, "select * from usage_summary(?, ?)", [CHRISTMAS, CHRISTMAS])
    assert (holiday["days_loaded"], holiday["active_users"], holiday["total_messages"]) == (1, 0, 0)
    assert holiday["credits_consumed"] == 0
    assert holiday["completion_acceptance_rate"] is None
    missing = _one(con, "select * from usage_summary(?, ?)", [MISSING, MISSING])
    assert (missing["days_missing"], missing["active_users"], missing["total_messages"]) == (1, None, None)


@pytest.mark.parametrize(
    "filters", [{"editor": "VSCode"}, {"language": "Python"}, {"editor": "CLI", "language": "Go"}]
)
def test_usage_summary_by_editor_and_language(
    con: duckdb.DuckDBPyConnection, activity: pd.DataFrame, filters: dict
) -> None:
    named = ", ".join(f"{k} := ${k}" for k in filters)
    params = {"start": START, "end": END, **filters}
    row = _one(con, f"select * from usage_summary($start, $end, {named})", params)
    frame = activity
    for key, wanted in filters.items():
        frame = frame[frame[key] == wanted]
    expected = _usage(frame, loaded=len(LOADED), credits=False)
    assert {k: row[k] for k in expected} == expected
    assert row["credits_consumed"] is None  # credits have no editor or language


def test_usage_summary_for_one_user(con: duckdb.DuckDBPyConnection, activity: pd.DataFrame) -> None:
    user = activity.groupby("user_key")["total_messages"].sum().idxmax()
    row = _one(con, "select * from usage_summary(?, ?, user_key := ?)", [START, END, user])
    expected = _usage(activity[activity["user_key"] == user], loaded=len(LOADED))
    assert {k: row[k] for k in expected} == expected
    assert row["active_users"] == 1


# -- usage_timeseries ------------------------------------------------------------------------------------


def _period(grain: str, day: dt.date) -> dt.date:
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def _period_end(grain: str, start: dt.date) -> dt.date:
    if grain == "week":
        return start + dt.timedelta(days=6)
    if grain == "month":
        return (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
    return start


@pytest.mark.parametrize("grain", ["day", "week", "month"])
def test_usage_timeseries(con: duckdb.DuckDBPyConnection, activity: pd.DataFrame, grain: str) -> None:
    rows = _rows(con, "select * from usage_timeseries(?, ?, ?)", [grain, START, END])
    periods = sorted({_period(grain, d) for d in days_between(START, END)})
    assert [r["period_start"] for r in rows] == periods
    for row, period in zip(rows, periods, strict=True):
        first, last = max(period, START), min(_period_end(grain, period), END)
        loaded = _loaded_between(first, last)
        days = _days(first, last)
        assert row == {
            "period_start": period,
            "period_end": _period_end(grain, period),
            "days_in_range": days,
            "days_loaded": loaded,
            "days_missing": days - loaded,
            "days_beyond_reach": 0,
            "loaded": loaded == days,
            **_usage(_between(activity, first, last), loaded=loaded),
        }, period


def test_timeseries_boundaries_and_missing_days(con: duckdb.DuckDBPyConnection) -> None:
    weeks = _rows(con, "select * from usage_timeseries('week', ?, ?)", [START, END])
    # ISO weeks start on Monday; the range cuts the first and last week short.
    assert all(w["period_start"].weekday() == 0 for w in weeks)
    assert [w["days_in_range"] for w in weeks] == [
        _days(max(w["period_start"], START), min(w["period_end"], END)) for w in weeks
    ]
    (broken,) = [w for w in weeks if w["period_start"] <= MISSING <= w["period_end"]]
    assert (broken["days_missing"], broken["loaded"]) == (1, False)
    months = _rows(con, "select * from usage_timeseries('month', ?, ?)", [START, END])
    assert [(m["period_start"], m["period_end"]) for m in months] == [
        (START.replace(day=1), DECEMBER_END),
        (NEW_YEAR, NEW_YEAR.replace(day=31)),
    ]
    assert [(m["days_in_range"], m["days_loaded"]) for m in months] == [(8, 7), (6, 6)]
    daily = _rows(con, "select * from usage_timeseries('day', ?, ?)", [START, END])
    days = {d["period_start"]: d for d in daily}
    assert (days[MISSING]["loaded"], days[MISSING]["active_users"], days[MISSING]["total_messages"]) == (
        False,
        None,
        None,
    )
    holiday = days[NEW_YEAR]
    assert (holiday["loaded"], holiday["active_users"], holiday["total_messages"]) == (True, 0, 0)


def test_weekly_active_users_are_distinct(con: duckdb.DuckDBPyConnection, activity: pd.DataFrame) -> None:
    week = _period("week", START + dt.timedelta(days=7))
    sunday = week + dt.timedelta(days=6)
    in_week = _between(activity, week, sunday)
    days_active = in_week.groupby("user_key")["date"].nunique()
    user = days_active[days_active >= 3].index[0]
    daily = _rows(
        con,
        "select active_users from usage_timeseries('day', ?, ?, user_key := ?) where active_users > 0",
        [week, sunday, user],
    )
    assert len(daily) == days_active[user] >= 3
    sql = "select active_users from usage_timeseries('week', ?, ?, user_key := ?)"
    weekly = _one(con, sql, [week, sunday, user])
    assert weekly["active_users"] == 1
    everyone = _one(con, "select * from usage_timeseries('week', ?, ?)", [week, sunday])
    days = _rows(con, "from usage_timeseries('day', ?, ?)", [week, sunday])
    daily_sum = sum(r["active_users"] or 0 for r in days)
    assert everyone["active_users"] == in_week["user_key"].nunique() < daily_sum


def test_timeseries_refuses_an_unknown_grain(con: duckdb.DuckDBPyConnection) -> None:
    with pytest.raises(duckdb.InvalidInputException, match="grain must be 'day', 'week' or 'month'"):
        con.execute("select * from usage_timeseries('year', ?, ?)", [START, END]).fetchall()


def test_timeseries_of_an_empty_range(con: duckdb.DuckDBPyConnection) -> None:
    assert _rows(con, "select * from usage_timeseries('day', ?, ?)", [END, START]) == []


# -- breakdowns ------------------------------------------------------------------------------------------


def test_usage_by_user(con: duckdb.DuckDBPyConnection, activity: pd.DataFrame) -> None:
    rows = {r["user_key"]: r for r in _rows(con, "select * from usage_by_user(?, ?)", [START, END])}
    assert set(rows) == set(activity["user_key"])
    for key, frame in activity.groupby("user_key"):
        sums = {m: int(frame[m].sum()) for m in METRICS}
        active = frame["date"].nunique()
        assert rows[key] == {
            "organization": DEFAULT_ORGANIZATION,
            "user_key": key,
            "user_email": frame["user_email"].iloc[0],
            "service_account_name": frame["service_account_name"].iloc[0],
            "is_service_account": frame["service_account_name"].iloc[0] is not None,
            "active_days": active,
            "first_active_date": frame["date"].min(),
            "last_active_date": frame["date"].max(),
            **sums,
            **_rates(sums, active, "active_day"),
            "credits_consumed": float(frame["credits_consumed"].sum()),
        }, key


@pytest.mark.parametrize(
    ("dimension", "macro"), [("editor", "usage_by_editor"), ("language", "usage_by_language")]
)
def test_usage_by_editor_and_language(
    con: duckdb.DuckDBPyConnection, activity: pd.DataFrame, dimension: str, macro: str
) -> None:
    rows = {r[dimension]: r for r in _rows(con, f"select * from {macro}(?, ?)", [START, END])}
    total_lines = int(activity["total_modified_lines_of_code"].sum())
    assert set(rows) == set(activity[dimension])
    for name, frame in activity.groupby(dimension):
        sums = {m: int(frame[m].sum()) for m in METRICS}
        users = frame["user_key"].nunique()
        assert rows[name] == {
            dimension: name,
            "active_users": users,
            "active_user_days": len(frame[["date", "user_key"]].drop_duplicates()),
            **sums,
            **_rates(sums, users, "active_user"),
            "share_of_lines": sums["total_modified_lines_of_code"] / total_lines,
        }, name


def test_usage_by_language_within_one_editor(con: duckdb.DuckDBPyConnection, activity: pd.DataFrame) -> None:
    sql = "select language, total_messages from usage_by_language(?, ?, editor := 'JetBrains')"
    rows = _rows(con, sql, [START, END])
    frame = activity[activity["editor"] == "JetBrains"]
    assert {r["language"]: r["total_messages"] for r in rows} == {
        k: int(v) for k, v in frame.groupby("language")["total_messages"].sum().items()
    }


SURFACES = {
    "completions": ("completions_count", "completions_lines_of_code"),
    "chat": ("chat_messages", None),
    "remote_agent": ("remote_agent_messages", "remote_agent_lines_of_code"),
    "ide_agent": ("ide_agent_messages", "ide_agent_lines_of_code"),
    "cli_interactive": ("cli_agent_interactive_messages", "cli_agent_interactive_lines_of_code"),
    "cli_non_interactive": ("cli_agent_non_interactive_messages", "cli_agent_non_interactive_lines_of_code"),
}


@pytest.mark.parametrize("filters", [{}, {"editor": "CLI"}])
def test_usage_by_surface(con: duckdb.DuckDBPyConnection, activity: pd.DataFrame, filters: dict) -> None:
    named = "".join(f", {k} := ${k}" for k in filters)
    params = {"start": START, "end": END, **filters}
    rows = _rows(con, f"select * from usage_by_surface($start, $end{named})", params)
    frame = activity
    for key, wanted in filters.items():
        frame = frame[frame[key] == wanted]
    per_user = frame.groupby("user_key")[list(METRICS)].sum()
    all_lines = sum(int(frame[lines].sum()) for _, lines in SURFACES.values() if lines)
    assert [r["surface"] for r in rows] == list(SURFACES)
    for row, (surface, (messages, lines)) in zip(rows, SURFACES.items(), strict=True):
        line_count = int(frame[lines].sum()) if lines else None
        assert row == {
            "surface": surface,
            "messages": int(frame[messages].sum()),
            "lines_of_code": line_count,
            "active_users": int((per_user[messages] > 0).sum()),
            "share_of_lines": line_count / all_lines if lines else None,
        }, surface


@pytest.mark.parametrize(
    ("start", "end"),
    [pytest.param(MISSING, MISSING, id="missing-day"), pytest.param(END, START, id="empty-range")],
)
def test_breakdowns_know_nothing_of_days_not_loaded(
    con: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date
) -> None:
    macros = ("usage_by_user", "usage_by_editor", "usage_by_language", "credits_by_model", "credits_by_user")
    for macro in macros:
        assert _rows(con, f"select * from {macro}(?, ?)", [start, end]) == [], macro
    surfaces = _rows(con, "select * from usage_by_surface(?, ?)", [start, end])
    assert [r["surface"] for r in surfaces] == list(SURFACES)
    assert all(r["messages"] is None and r["active_users"] is None for r in surfaces)
    holiday = _rows(con, "select * from usage_by_surface(?, ?)", [CHRISTMAS, CHRISTMAS])
    assert all(r["messages"] == 0 and r["active_users"] == 0 for r in holiday)


def test_credits_by_model(con: duckdb.DuckDBPyConnection, activity: pd.DataFrame) -> None:
    rows = {r["model_name"]: r for r in _rows(con, "select * from credits_by_model(?, ?)", [START, END])}
    spent = activity[activity["credits_consumed"] > 0]
    total = float(spent["credits_consumed"].sum())
    assert set(rows) == set(spent["model_name"])
    for model, frame in spent.groupby("model_name"):
        credits = float(frame["credits_consumed"].sum())
        assert rows[model] == {
            "model_name": model,
            "credits_consumed": credits,
            "share_of_credits": pytest.approx(credits / total),
            "users": frame["user_key"].nunique(),
            "days_used": frame["date"].nunique(),
        }
    assert math.isclose(sum(r["share_of_credits"] for r in rows.values()), 1.0)


def test_credits_by_user(con: duckdb.DuckDBPyConnection, activity: pd.DataFrame) -> None:
    rows = {r["user_key"]: r for r in _rows(con, "select * from credits_by_user(?, ?)", [START, END])}
    spent = activity[activity["credits_consumed"] > 0]
    assert set(rows) == set(spent["user_key"])
    for key, frame in spent.groupby("user_key"):
        by_model = frame.groupby("model_name")["credits_consumed"].sum()
        top = max(by_model.items(), key=lambda item: (item[1], item[0]))[0]
        row = rows[key]
        assert (row["credits_consumed"], row["models_used"], row["top_model"], row["days_used"]) == (
            float(frame["credits_consumed"].sum()),
            len(by_model),
            top,
            frame["date"].nunique(),
        )
    one = next(iter(rows))
    only = _rows(con, "select user_key from credits_by_user(?, ?, user_key := ?)", [START, END, one])
    assert only == [{"user_key": one}]


@pytest.mark.parametrize("macro", ["credits_by_model", "credits_by_user"])
def test_credits_refuse_editor_and_language_filters(con: duckdb.DuckDBPyConnection, macro: str) -> None:
    with pytest.raises(duckdb.InvalidInputException, match="credits have no editor or language"):
        con.execute(f"select * from {macro}(?, ?, editor := 'VSCode')", [START, END]).fetchall()


@pytest.mark.parametrize("grain", ["day", "week", "month"])
def test_credits_timeseries(con: duckdb.DuckDBPyConnection, activity: pd.DataFrame, grain: str) -> None:
    rows = _rows(con, "select * from credits_timeseries(?, ?, ?)", [grain, START, END])
    spent = activity[activity["credits_consumed"] > 0]
    models = sorted(set(spent["model_name"]))
    periods = sorted({_period(grain, d) for d in days_between(START, END)})
    assert [(r["period_start"], r["model_name"]) for r in rows] == [(p, m) for p in periods for m in models]
    for row in rows:
        period = row["period_start"]
        first, last = max(period, START), min(_period_end(grain, period), END)
        loaded = _loaded_between(first, last)
        in_period = _between(spent, first, last)
        credits = float(in_period.loc[in_period["model_name"] == row["model_name"], "credits_consumed"].sum())
        assert row == {
            "period_start": period,
            "period_end": _period_end(grain, period),
            "days_in_range": _days(first, last),
            "days_loaded": loaded,
            "days_missing": _days(first, last) - loaded,
            "days_beyond_reach": 0,
            "model_name": row["model_name"],
            "credits_consumed": credits if loaded else None,
        }, (period, row["model_name"])
    breakdown = _rows(con, "from credits_by_model(?, ?)", [START, END])
    by_model = {r["model_name"]: r["credits_consumed"] for r in breakdown}
    totals = pd.DataFrame(rows).groupby("model_name")["credits_consumed"].sum()
    assert totals.to_dict() == pytest.approx(by_model)  # the series add up to the breakdown


def test_credits_timeseries_for_one_user_and_missing_days(
    con: duckdb.DuckDBPyConnection, activity: pd.DataFrame
) -> None:
    user = activity.groupby("user_key")["credits_consumed"].sum().idxmax()
    rows = _rows(con, "from credits_timeseries('day', ?, ?, user_key := ?)", [START, END, user])
    mine = activity[activity["user_key"] == user]
    for row in rows:
        day = row["period_start"]
        same = (mine["date"] == day) & (mine["model_name"] == row["model_name"])
        expected = mine.loc[same, "credits_consumed"]
        assert row["credits_consumed"] == (None if day == MISSING else float(expected.sum())), row
    assert {r["credits_consumed"] for r in rows if r["period_start"] == CHRISTMAS} == {0.0}
    with pytest.raises(duckdb.InvalidInputException, match="credits have no editor or language"):
        con.execute("from credits_timeseries('day', ?, ?, language := 'Go')", [START, END]).fetchall()
    with pytest.raises(duckdb.InvalidInputException, match="grain must be"):
        con.execute("from credits_timeseries('year', ?, ?)", [START, END]).fetchall()
    before = [START - dt.timedelta(days=9), START - dt.timedelta(days=1)]
    assert _rows(con, "from credits_timeseries('day', ?, ?)", before) == []


# -- active_users_trailing -------------------------------------------------------------------------------


@pytest.mark.parametrize("filters", [{}, {"editor": "JetBrains"}])
def test_active_users_trailing(con: duckdb.DuckDBPyConnection, activity: pd.DataFrame, filters: dict) -> None:
    named = "".join(f", {k} := ${k}" for k in filters)
    params = {"start": START, "end": END, **filters}
    rows = _rows(con, f"select * from active_users_trailing($start, $end{named})", params)
    frame = activity
    for key, wanted in filters.items():
        frame = frame[frame[key] == wanted]
    assert [r["date"] for r in rows] == days_between(START, END)
    for row in rows:
        day = row["date"]
        week = _between(frame, day - dt.timedelta(days=6), day)
        month = _between(frame, day - dt.timedelta(days=27), day)
        week_loaded = _loaded_between(day - dt.timedelta(days=6), day)
        month_loaded = _loaded_between(day - dt.timedelta(days=27), day)
        assert row == {
            "date": day,
            "loaded": day in LOADED,
            "dau": frame.loc[frame["date"] == day, "user_key"].nunique() if day in LOADED else None,
            "wau": week["user_key"].nunique() if week_loaded else None,
            "mau": month["user_key"].nunique() if month_loaded else None,
            "week_days_loaded": week_loaded,
            "month_days_loaded": month_loaded,
        }, day
        assert (row["dau"] or 0) <= (row["wau"] or 0) <= (row["mau"] or 0)
    last = rows[-1]
    assert last["mau"] == frame["user_key"].nunique()  # the 28 days ending on END hold the whole window


def test_active_users_trailing_windows_reach_before_the_range(
    con: duckdb.DuckDBPyConnection, activity: pd.DataFrame
) -> None:
    """A one-day range still counts the week and the 28 days before it, and the weekly active users are
    those of usage_timeseries for the same seven days."""
    sunday = _period("week", START + dt.timedelta(days=7)) + dt.timedelta(days=6)
    (row,) = _rows(con, "from active_users_trailing(?, ?)", [sunday, sunday])
    week = _one(con, "from usage_timeseries('week', ?, ?)", [sunday - dt.timedelta(days=6), sunday])
    assert row["wau"] == week["active_users"]
    assert row["mau"] == _between(activity, START, sunday)["user_key"].nunique()
    before = _rows(
        con, "from active_users_trailing(?, ?)", [START - dt.timedelta(days=3), START - dt.timedelta(days=1)]
    )
    assert [(r["loaded"], r["dau"], r["wau"], r["mau"]) for r in before] == [(False, None, None, None)] * 3
    assert _rows(con, "from active_users_trailing(?, ?)", [END, START]) == []


# -- budget_utilisation ----------------------------------------------------------------------------------


def _credit_leaders(org: SyntheticOrg, days: list[dt.date]) -> list[str]:
    frame = pd.concat([org.activity(d) for d in days])
    people = frame[frame["user_email"].notna()]
    return list(people.groupby("user_key")["credits_consumed"].sum().sort_values(ascending=False).index[:3])


def _set_budgets(con: duckdb.DuckDBPyConnection, org: SyntheticOrg) -> None:
    """Overrides with known limits: reached in December, projected in January, different per snapshot."""
    december = [d for d in LOADED if d.month == 12]
    january = [d for d in LOADED if d.month == 1]
    spent = {d: org.activity(d).groupby("user_key")["credits_consumed"].sum() for d in december + january}
    first, second, third = _credit_leaders(org, december + january)

    def total(user: str, days: list[dt.date]) -> float:
        return float(sum(spent[d].get(user, 0) for d in days))

    limits = {
        # December (latest snapshot on or before 31 December): half of what the first leader spent.
        (DECEMBER_END, first): round(total(first, december) / 2),
        # January (latest snapshot: 6 January): the second leader is projected to reach it on day 10
        # after the last loaded day; the third leader never within the month.
        (END, first): 10**9,
        (END, second): round(total(second, january) + total(second, january) / len(january) * 9.5),
        (END, third): round(total(third, january) * 100),
    }
    for (snapshot, user), limit in limits.items():
        con.execute(
            "delete from fct_budget_overrides where snapshot_date = ? and user_key = ? and resource = ?",
            [snapshot, user, CREDITS],
        )
        con.execute(
            "insert into fct_budget_overrides values (?, ?, ?, null, ?, ?, ?, now(), ?)",
            [snapshot, user, user, CREDITS, MONTHLY, limit, DEFAULT_ORGANIZATION],
        )


def _expected_budget(org: SyntheticOrg, overrides: list[dict], month: dt.date) -> dict[tuple, dict]:
    days = [d for d in LOADED if d.month == month.month]
    days_in_month = _days(month, _period_end("month", month))
    daily = {d: org.activity(d).groupby("user_key")["credits_consumed"].sum() for d in days}
    expected = {}
    for o in overrides:
        user, limit = o["user_key"], float(o["limit_value"])
        measured = o["resource"] == CREDITS
        running, reached = 0.0, None
        for d in days:
            running += float(daily[d].get(user, 0))
            if reached is None and running >= limit:
                reached = d
        burn = running / len(days)
        projected_date = reached
        if reached is None and burn > 0:
            candidate = max(days) + dt.timedelta(days=math.ceil((limit - running) / burn))
            projected_date = candidate if candidate <= _period_end("month", month) else None
        expected[(user, o["resource"])] = {
            "month": month,
            "days_in_month": days_in_month,
            "days_loaded": len(days),
            "as_of_date": max(days),
            "credits_consumed": running if measured else None,
            "percent_used": (100 * running / limit if limit else None) if measured else None,
            "daily_burn_rate": burn if measured else None,
            "projected_month_end": burn * days_in_month if measured else None,
            "limit_reached_date": reached if measured else None,
            "projected_limit_date": projected_date if measured else None,
        }
    return expected


@pytest.mark.parametrize("month", [START.replace(day=1), NEW_YEAR])
def test_budget_utilisation(con: duckdb.DuckDBPyConnection, org: SyntheticOrg, month: dt.date) -> None:
    rows = _rows(con, "select * from budget_utilisation(?)", [month + dt.timedelta(days=9)])
    snapshot = DECEMBER_END if month.month == 12 else END
    overrides = _rows(con, "select * from fct_budget_overrides where snapshot_date = ?", [snapshot])
    assert {r["snapshot_date"] for r in rows} == {snapshot}
    assert sorted((r["user_key"], r["resource"], r["limit_value"]) for r in rows) == sorted(
        (o["user_key"], o["resource"], o["limit_value"]) for o in overrides
    )
    expected = _expected_budget(org, overrides, month)
    for row in rows:
        want = expected[(row["user_key"], row["resource"])]
        assert {k: row[k] for k in want} == want, row


def test_budget_projection_on_a_fixed_month(con: duckdb.DuckDBPyConnection, org: SyntheticOrg) -> None:
    first, second, third = _credit_leaders(org, LOADED)
    sql = "select * from budget_utilisation(?) where resource = ?"
    december = {r["user_key"]: r for r in _rows(con, sql, [START, CREDITS])}
    assert december[first]["limit_reached_date"] is not None
    assert december[first]["percent_used"] >= 100
    assert december[first]["projected_limit_date"] == december[first]["limit_reached_date"]
    january = {r["user_key"]: r for r in _rows(con, sql, [END, CREDITS])}
    assert january[second]["limit_reached_date"] is None
    assert january[second]["projected_limit_date"] == END + dt.timedelta(days=10)
    assert january[third]["projected_limit_date"] is None
    assert january[first]["limit_value"] == 10**9  # January's snapshot, not December's
    usd = _rows(con, "select * from budget_utilisation(?) where resource <> ?", [END, CREDITS])
    assert usd and all(r["credits_consumed"] is None and r["percent_used"] is None for r in usd)


# -- user_adoption ---------------------------------------------------------------------------------------


def test_user_adoption(con: duckdb.DuckDBPyConnection, activity: pd.DataFrame) -> None:
    rows = {r["user_key"]: r for r in _rows(con, "select * from user_adoption")}
    recent = sorted(LOADED, reverse=True)
    last_7, last_28 = set(recent[:7]), set(recent[:28])
    assert set(rows) == set(activity["user_key"])
    statuses = set()
    for key, frame in activity.groupby("user_key"):
        days = set(frame["date"])
        first = min(days)
        status = (
            "new"
            if first >= min(last_7)
            else "active"
            if days & last_7
            else "idle"
            if days & last_28
            else "dormant"
        )
        statuses.add(status)
        identity = ("user_email", "service_account_name", "is_service_account")
        assert {k: v for k, v in rows[key].items() if k not in identity} == {
            "organization": DEFAULT_ORGANIZATION,
            "user_key": key,
            "first_active_date": first,
            "last_active_date": max(days),
            "active_days": len(days),
            "active_days_last_7": len(days & last_7),
            "active_days_last_28": len(days & last_28),
            "as_of_date": END,
            "days_since_last_active": (END - max(days)).days,
            "status": status,
        }, key
    assert {"new", "active"} <= statuses


# -- many organisations ----------------------------------------------------------------------------------

BETA = "beta"
BETA_MISSING = START + dt.timedelta(days=3)  # 27 December: loaded for the default organisation only
ORGANIZATIONS = sorted([DEFAULT_ORGANIZATION, BETA])


def copy_warehouse(source: Path, target_dir: Path) -> Path:
    """A copy of the warehouse file ``source`` (and its WAL) in ``target_dir``, created."""
    target_dir.mkdir(parents=True)
    target = target_dir / source.name
    shutil.copyfile(source, target)
    wal = source.with_name(source.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, target.with_name(target.name + ".wal"))
    return target


def _tables_with_organization(con: duckdb.DuckDBPyConnection) -> list[str]:
    sql = (
        "select table_name from duckdb_columns() "
        "where schema_name = 'main' and column_name = 'organization' and table_name in "
        "(select table_name from duckdb_tables() where schema_name = 'main') order by 1"
    )
    return [r["table_name"] for r in _rows(con, sql)]


def add_organization(
    con: duckdb.DuckDBPyConnection, name: str, members: list[str], *, missing: tuple[dt.date, ...] = ()
) -> None:
    """A second organisation ``name``: a copy of the default organisation's rows of ``members`` (the same
    emails), its days and partitions, less the days ``missing``."""
    for table in _tables_with_organization(con):
        sql = "select 1 from duckdb_columns() where table_name = ? and column_name = 'user_key'"
        has_user = bool(_rows(con, sql, [table]))
        only = "and list_contains($members, t.user_key)" if has_user else ""
        con.execute(
            f"insert into {table} by name select * replace ($name as organization) from {table} as t "
            f"where t.organization = $default {only}",
            {"name": name, "default": DEFAULT_ORGANIZATION, **({"members": members} if has_user else {})},
        )
    for day in missing:
        for table, column in DATE_COLUMN.items():
            if column != "month":
                con.execute(f"delete from {table} where organization = ? and {column} = ?", [name, day])
        con.execute("delete from pipeline_partitions where organization = ? and date = ?", [name, day])


def keep_only_organization(con: duckdb.DuckDBPyConnection, name: str) -> None:
    for table in _tables_with_organization(con):
        con.execute(f"delete from {table} where organization <> ?", [name])


@pytest.fixture(scope="module")
def beta_members(activity: pd.DataFrame) -> list[str]:
    """Every other member of the default organisation, by name: the same emails in a second organisation."""
    return sorted(set(activity["user_key"]))[::2]


@pytest.fixture(scope="module")
def two_orgs_path(
    warehouse_path: Path, tmp_path_factory: pytest.TempPathFactory, beta_members: list[str]
) -> Path:
    """The warehouse of the module (organisation ``default``) plus a copy of half its members' rows as
    organisation ``beta``, which lacks one more day (BETA_MISSING)."""
    path = copy_warehouse(warehouse_path, tmp_path_factory.mktemp("two-orgs") / "data")
    with Warehouse(path).writer(memory_limit="512MB") as con:  # the tables copied at once, not a day
        add_organization(con, BETA, beta_members, missing=(BETA_MISSING,))
    return path


@pytest.fixture(scope="module")
def beta_only_path(two_orgs_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse holding only organisation ``beta``."""
    path = copy_warehouse(two_orgs_path, tmp_path_factory.mktemp("beta-only") / "data")
    with Warehouse(path).writer() as con:
        keep_only_organization(con, BETA)
    return path


@pytest.fixture(scope="module")
def two_orgs(two_orgs_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with Warehouse(two_orgs_path).reader() as connection:
        yield connection


@pytest.fixture(scope="module")
def beta_only(beta_only_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    with Warehouse(beta_only_path).reader() as connection:
        yield connection


ORG_CALLS = [
    "from usage_summary($start, $end{org})",
    "from usage_summary($start, $end{org}, editor := 'VSCode')",
    "from usage_timeseries('week', $start, $end{org})",
    "from active_users_trailing($start, $end{org})",
    "from usage_by_user($start, $end{org})",
    "from usage_by_organization($start, $end{org})",
    "from usage_by_editor($start, $end{org})",
    "from usage_by_language($start, $end{org}, editor := 'JetBrains')",
    "from usage_by_surface($start, $end{org})",
    "from credits_by_model($start, $end{org})",
    "from credits_by_user($start, $end{org})",
    "from credits_timeseries('day', $start, $end{org})",
    "from budget_utilisation($start{org})",
    "from budget_utilisation($end{org})",
    "from analysis_calendar($start, $end{org})",
    "from analysis_periods('month', $start, $end{org})",
    "from usage_rows($start, $end{org})",
    "from editor_language_rows($start, $end{org})",
]
"""Every analysis macro, with ``{org}`` where an organization argument goes."""


def _call(
    con: duckdb.DuckDBPyConnection, call: str, organization: object = ..., **range_: dt.date
) -> list[dict]:
    """The rows of ``call`` (ordered by every column), with ``organization := $org`` when one is given."""
    named = "" if organization is ... else ", organization := $org"
    params: dict[str, object] = {"start": START, "end": END, **range_}
    if organization is not ...:
        params["org"] = organization
    sql = call.format(org=named)
    return _rows(con, f"{sql} order by all", {k: v for k, v in params.items() if f"${k}" in sql})


@pytest.mark.parametrize("call", ORG_CALLS)
def test_one_organisation_reads_as_a_warehouse_holding_only_it(
    con: duckdb.DuckDBPyConnection,
    two_orgs: duckdb.DuckDBPyConnection,
    beta_only: duckdb.DuckDBPyConnection,
    call: str,
) -> None:
    assert _call(two_orgs, call, DEFAULT_ORGANIZATION) == _call(con, call), DEFAULT_ORGANIZATION
    assert _call(two_orgs, call, BETA) == _call(beta_only, call) == _call(beta_only, call, BETA), BETA
    assert _call(con, call) == _call(con, call, DEFAULT_ORGANIZATION)


@pytest.mark.parametrize("call", ORG_CALLS)
def test_null_and_all_mean_every_organisation(two_orgs: duckdb.DuckDBPyConnection, call: str) -> None:
    everyone = _call(two_orgs, call)
    assert _call(two_orgs, call, None) == everyone
    assert _call(two_orgs, call, "all") == everyone
    assert everyone != _call(two_orgs, call, DEFAULT_ORGANIZATION)  # beta's rows, or its missing day


def test_a_day_is_loaded_for_all_organisations_only_when_each_has_it(
    two_orgs: duckdb.DuckDBPyConnection,
) -> None:
    sql = "from analysis_calendar(?, ?, organization := ?)"
    day = [BETA_MISSING, BETA_MISSING]
    (everyone,) = _rows(two_orgs, sql, [*day, "all"])
    assert (everyone["loaded"], everyone["missing_organizations"]) == (False, [BETA])
    assert everyone["missing_endpoints"] == ["credit_usage", "dau", "editor_language", "user_activity"]
    (default,) = _rows(two_orgs, sql, [*day, DEFAULT_ORGANIZATION])
    assert (default["loaded"], default["missing_organizations"]) == (True, [])
    (missing,) = _rows(two_orgs, sql, [MISSING, MISSING, "all"])
    assert missing["missing_organizations"] == ORGANIZATIONS
    (unknown,) = _rows(two_orgs, sql, [*day, "nobody"])  # an organisation never loaded: nothing is
    assert (unknown["loaded"], unknown["missing_organizations"]) == (False, ["nobody"])
    assert _rows(two_orgs, "from analysis_organizations()") == [{"organization": o} for o in ORGANIZATIONS]
    summary = _one(two_orgs, "from usage_summary(?, ?)", [START, END])
    assert (summary["days_loaded"], summary["days_missing"]) == (len(LOADED) - 1, 2)
    recorded = _rows(
        two_orgs, "select organization, loaded from analysis_days where date = ?", [BETA_MISSING]
    )
    assert recorded == [{"organization": DEFAULT_ORGANIZATION, "loaded": True}]
    days = _rows(two_orgs, "from analysis_days where date = ? order by organization", [START])
    assert [d["organization"] for d in days] == ORGANIZATIONS


ADDITIVE = ["active_users", "active_people", "active_service_accounts", *METRICS, "credits_consumed"]


def test_totals_over_all_organisations_add_up_and_never_merge_members(
    two_orgs: duckdb.DuckDBPyConnection, activity: pd.DataFrame, beta_members: list[str]
) -> None:
    """On days both organisations have loaded, a total over all organisations is the sum of theirs: the
    same email in both counts twice."""
    start = BETA_MISSING + dt.timedelta(days=1)
    everyone = _one(two_orgs, "from usage_summary(?, ?)", [start, END])
    each = {
        o: _one(two_orgs, "from usage_summary(?, ?, organization := ?)", [start, END, o])
        for o in ORGANIZATIONS
    }
    for column in ADDITIVE:
        assert everyone[column] == pytest.approx(sum(e[column] for e in each.values())), column
    frame = _between(activity, start, END)
    assert (
        everyone["active_users"]
        == frame["user_key"].nunique() + frame[frame["user_key"].isin(beta_members)]["user_key"].nunique()
    )
    rows = _rows(two_orgs, "from usage_by_organization(?, ?)", [start, END])
    assert [r["organization"] for r in rows] == ORGANIZATIONS
    for row in rows:
        alone = each[row["organization"]]
        assert row == {"organization": row["organization"], **alone}
    weekly = _rows(two_orgs, "from usage_timeseries('week', ?, ?)", [start, END])
    for period in weekly:
        parts = [
            _one(
                two_orgs,
                "from usage_timeseries('week', ?, ?, organization := ?) where period_start = ?",
                [start, END, o, period["period_start"]],
            )
            for o in ORGANIZATIONS
        ]
        assert period["active_users"] == sum(p["active_users"] for p in parts)
    trailing = _rows(two_orgs, "from active_users_trailing(?, ?)", [END, END])
    parts = [
        _one(two_orgs, "from active_users_trailing(?, ?, organization := ?)", [END, END, o])
        for o in ORGANIZATIONS
    ]
    assert trailing[0]["dau"] == sum(p["dau"] for p in parts)
    models = {r["model_name"]: r for r in _rows(two_orgs, "from credits_by_model(?, ?)", [start, END])}
    for o in ORGANIZATIONS:
        for r in _rows(two_orgs, "from credits_by_model(?, ?, organization := ?)", [start, END, o]):
            models[r["model_name"]]["users"] -= r["users"]
    assert {r["users"] for r in models.values()} == {0}


def test_per_member_rows_carry_their_organisation(
    two_orgs: duckdb.DuckDBPyConnection, beta_members: list[str]
) -> None:
    for sql, params in (
        ("from usage_by_user(?, ?)", [START, END]),
        ("from credits_by_user(?, ?)", [START, END]),
        ("from user_adoption", None),
    ):
        rows = _rows(two_orgs, sql, params)
        keys = [(r["organization"], r["user_key"]) for r in rows]
        assert len(keys) == len(set(keys)), sql  # one row per member
        both = {k for o, k in keys if o == BETA} & {k for o, k in keys if o == DEFAULT_ORGANIZATION}
        assert both and both <= set(beta_members), sql  # the same emails, in both organisations
    adoption = _rows(two_orgs, "select distinct organization, as_of_date from user_adoption order by 1")
    assert adoption == [{"organization": o, "as_of_date": END} for o in ORGANIZATIONS]
    budgets = _rows(two_orgs, "select organization, user_key from budget_utilisation(?)", [END])
    assert {r["organization"] for r in budgets} == set(ORGANIZATIONS)


# -- documentation and installation ----------------------------------------------------------------------


def test_every_object_and_column_is_commented(con: duckdb.DuckDBPyConnection) -> None:
    undocumented = "coalesce(comment, '') = ''"
    tables = f"select table_name from duckdb_tables() where schema_name = 'main' and {undocumented}"
    assert _rows(con, tables) == []
    assert _rows(con, f"select view_name from duckdb_views() where not internal and {undocumented}") == []
    assert (
        _rows(
            con,
            "select table_name, column_name from duckdb_columns() "
            "where schema_name = 'main' and not internal and coalesce(comment, '') = ''",
        )
        == []
    )
    assert (
        _rows(
            con,
            "select function_name from duckdb_functions() where schema_name = 'main' and not internal "
            "and function_type in ('macro', 'table_macro') and coalesce(comment, '') = ''",
        )
        == []
    )
    views = {r["view_name"] for r in _rows(con, "select view_name from duckdb_views() where not internal")}
    assert set(VIEWS) <= views


def test_analysis_macros_documents_and_exemplifies_every_macro(con: duckdb.DuckDBPyConnection) -> None:
    documented = {r["macro_name"]: r for r in _rows(con, "select * from analysis_macros")}
    assert set(MACROS) <= set(documented)
    for name, row in documented.items():
        assert row["description"] and row["signature"].startswith(name + "(")
        con.execute(row["example"]).fetchall()  # every example runs
    rates = {r["term"]: r["definition"] for r in _rows(con, "select * from analysis_glossary")}
    assert "completions_accepted / completions_count" in rates["completion_acceptance_rate"]


def test_readme_section_lists_every_macro_and_rate() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for name in (*MACROS, "user_adoption", "completion_acceptance_rate", "line_acceptance_rate"):
        assert name in text, name


def test_install_is_idempotent_and_skips_an_up_to_date_layer(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    with warehouse.writer() as con:
        assert install_analysis(con) in (True, False)  # the writer may have installed it already
        assert install_analysis(con) is False
        assert install_analysis(con, force=True) is True
        row = _one(con, "select * from usage_summary('2026-01-01', '2026-01-07')")
    assert (row["days_in_range"], row["days_missing"], row["active_users"]) == (7, 7, None)
    with warehouse.reader() as con:
        weeks = _one(con, "select count(*) as n from usage_timeseries('week', '2026-01-01', '2026-01-31')")
    assert weeks["n"] == 5
