"""The data behind the usage report: one plain, typed, JSON-serialisable dataset for a period.

Every number comes from the warehouse's analysis macros (``warehouse/sql/analysis/``), called by the
queries of ``warehouse/sql/report/`` through one read-only connection: the report adds no definitions
of its own, so it says exactly what ``duckdb -readonly warehouse.duckdb`` would. The one thing
computed here is the average of the macros' daily active-user counts over a week or a month (pandas),
for the active-users chart.

The previous period is the one of equal length ending the day before the period starts; each KPI
carries both values and the change. Which days are loaded, empty, provisional or missing comes from
``analysis_calendar`` and ``pipeline_partitions``.

A report covers one organisation, or all of them (``organization=None``): every query passes it to the
macros' ``organization`` filter, so an organisation's report reads as a warehouse holding only it, and
the all-organisations report counts a member per organisation and reads the days every organisation
has loaded. Over all organisations of a warehouse holding more than one, the dataset also has one row
per organisation (``usage_by_organization``), and members carry their organisation.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import duckdb
import pandas as pd

from analytics_pipeline.errors import FIX_INPUT, PipelineError
from analytics_pipeline.organization import ALL
from analytics_pipeline.warehouse.organizations import UnknownOrganization as UnknownOrganization
from analytics_pipeline.warehouse.organizations import check_organizations, organizations
from analytics_pipeline.warehouse.sql import read_sql, table_exists

REPORT_DAYS = 28
"""The default period: the 28 days ending on the latest loaded day (four whole weeks)."""

TOP_USERS = 10
BUDGET_THRESHOLDS: tuple[int, ...] = (75, 90, 100)
"""Percent of an override's limit at which a member is listed."""
BUDGET_CONTEXT_ROWS = 5
"""Budget rows shown at least, even when nobody is above the lowest threshold (for context)."""
CREDITS_RESOURCE = "BUDGET_RESOURCE_CREDITS_CONSUMED"
BUDGET_CHANGES_SHOWN = 10
"""The latest budget changes (``budgets apply``) shown beside the budgets."""

Grain = Literal["day", "week", "month"]
GRAINS: tuple[Grain, ...] = ("day", "week", "month")
DayState = Literal["loaded", "empty", "provisional", "missing", "beyond_reach"]
"""``beyond_reach``: not loaded, and older than the API's 2-year lookback: it can no longer be fetched,
so it is not missing (``analysis_calendar``'s ``beyond_reach``)."""

SURFACES: dict[str, str] = {
    "completions": "Completions",
    "chat": "Chat",
    "remote_agent": "Remote agent",
    "ide_agent": "IDE agent",
    "cli_interactive": "CLI interactive",
    "cli_non_interactive": "CLI non-interactive",
}
"""The surfaces of ``usage_by_surface``, in its order, with their display names."""

MESSAGE_COLUMNS: dict[str, str] = {
    "chat": "chat_messages",
    "remote_agent": "remote_agent_messages",
    "ide_agent": "ide_agent_messages",
    "cli_interactive": "cli_agent_interactive_messages",
    "cli_non_interactive": "cli_agent_non_interactive_messages",
}
"""The parts of ``total_messages`` per surface (completions are not messages: see acceptance)."""

LINE_COLUMNS: dict[str, str] = {
    "completions": "completions_lines_of_code",
    "remote_agent": "remote_agent_lines_of_code",
    "ide_agent": "ide_agent_lines_of_code",
    "cli_interactive": "cli_agent_interactive_lines_of_code",
    "cli_non_interactive": "cli_agent_non_interactive_lines_of_code",
}
"""The parts of ``total_modified_lines_of_code`` per surface (chat writes no lines)."""


class NoLoadedDays(PipelineError, ValueError):
    """The warehouse has no loaded day to report on."""

    exit_code = FIX_INPUT  # load some days first, or choose a period with loaded days


# -- the dataset ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """An inclusive range of UTC days."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError(f"the period ends ({self.end}) before it starts ({self.start})")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The period of equal length that ends the day before this one starts."""
        end = self.start - dt.timedelta(days=1)
        return Period(end - dt.timedelta(days=self.days - 1), end)


@dataclass(frozen=True)
class Coverage:
    start: dt.date
    end: dt.date
    days_in_range: int
    days_loaded: int
    days_missing: int
    """Days not loaded that the API still serves (a backfill can load them)."""
    days_beyond_reach: int = 0
    """Days not loaded that the API no longer serves (older than its lookback): not missing."""


@dataclass(frozen=True)
class Kpi:
    """A headline number for the period and the previous one.

    ``change`` is relative for counts and credits (0.1 = 10% more), and a difference for rates
    (0.02 = two percentage points more); None when either value is unknown or the previous is 0.
    """

    key: str
    label: str
    kind: Literal["count", "rate", "credits"]
    value: float | None
    previous: float | None
    change: float | None


@dataclass(frozen=True)
class TimeSeries:
    """One grain's series, one value per period (None: no loaded day in it, or no defined rate)."""

    grain: Grain
    period_start: list[dt.date]
    period_end: list[dt.date]
    labels: list[str]
    days_in_range: list[int]
    days_loaded: list[int]
    dau: list[float | None]
    wau: list[float | None]
    mau: list[float | None]
    messages_by_surface: dict[str, list[int | None]]
    lines_by_surface: dict[str, list[int | None]]
    completion_acceptance_rate: list[float | None]
    line_acceptance_rate: list[float | None]
    credits_by_model: dict[str, list[float | None]]


@dataclass(frozen=True)
class SurfaceRow:
    surface: str
    label: str
    messages: int | None
    lines_of_code: int | None
    active_users: int | None
    share_of_lines: float | None


@dataclass(frozen=True)
class BreakdownRow:
    """One editor or language."""

    name: str
    active_users: int
    messages: int | None
    lines_of_code: int | None
    completion_acceptance_rate: float | None
    line_acceptance_rate: float | None
    share_of_lines: float | None


@dataclass(frozen=True)
class ModelRow:
    model_name: str
    credits_consumed: float
    share_of_credits: float | None
    users: int


@dataclass(frozen=True)
class OrganizationRow:
    """One organisation's numbers for the period (``usage_by_organization``)."""

    organization: str
    days_loaded: int
    active_users: int | None
    messages: int | None
    lines_of_code: int | None
    completion_acceptance_rate: float | None
    credits_consumed: float | None
    share_of_credits: float | None


@dataclass(frozen=True)
class UserLinesRow:
    organization: str
    user: str
    """The member as the warehouse stores it: the email (pseudonymised if the warehouse is), or the
    service account's name."""
    is_service_account: bool
    active_days: int
    lines_of_code: int | None
    messages: int | None
    completion_acceptance_rate: float | None
    credits_consumed: float | None


@dataclass(frozen=True)
class UserCreditsRow:
    organization: str
    user: str
    is_service_account: bool
    credits_consumed: float
    share_of_credits: float | None
    top_model: str | None
    days_used: int


@dataclass(frozen=True)
class BudgetRow:
    organization: str
    user: str
    limit_value: float
    credits_consumed: float
    percent_used: float | None
    projected_month_end: float | None
    projected_percent: float | None
    limit_reached_date: dt.date | None
    projected_limit_date: dt.date | None
    threshold: int | None
    """The highest of BUDGET_THRESHOLDS reached (None: below them all)."""


@dataclass(frozen=True)
class BudgetChangeRow:
    """One change ``budgets apply`` sent (``fct_budget_changes``)."""

    changed_at: dt.datetime
    organization: str
    user: str
    resource: str
    action: str
    old_limit: float | None
    new_limit: float
    outcome: str
    changed_by: str | None


@dataclass(frozen=True)
class Budgets:
    """Credit overrides for the month the period ends in, from ``budget_utilisation``."""

    month: dt.date
    as_of_date: dt.date | None
    days_loaded: int
    days_in_month: int
    overrides: int
    """Monthly credit overrides measured."""
    unmeasured: int
    """Other overrides (USD cost): the warehouse has no cost data to measure them against."""
    above: dict[str, int]
    """Members at or above each threshold ("75", "90", "100"; keys are text for JSON)."""
    projected_over: int
    """Members whose projected month-end reaches their limit."""
    rows: list[BudgetRow]
    """Every member at or above the lowest threshold, and at least the few highest."""
    changes: list[BudgetChangeRow]
    """The latest changes sent by ``budgets apply``, newest first (any month)."""


@dataclass(frozen=True)
class DayStatus:
    date: dt.date
    state: DayState
    missing_endpoints: list[str]
    in_period: bool
    """True for the report's period, False for the previous period."""
    missing_organizations: list[str]
    """The organisations the day is not loaded for (of those the report covers)."""


@dataclass(frozen=True)
class ReportData:
    generated_at: dt.datetime
    organization: str | None
    """The organisation reported on; None: every organisation in the warehouse."""
    organizations: list[str]
    """Every organisation in the warehouse."""
    period: Coverage
    previous: Coverage
    kpis: list[Kpi]
    timeseries: dict[str, TimeSeries]
    surfaces: list[SurfaceRow]
    editors: list[BreakdownRow]
    languages: list[BreakdownRow]
    models: list[ModelRow]
    top_users_by_lines: list[UserLinesRow]
    top_users_by_credits: list[UserCreditsRow]
    budgets: Budgets
    days: list[DayStatus]
    by_organization: list[OrganizationRow]
    """One row per organisation: only in a report over all organisations of a warehouse holding more
    than one (empty otherwise)."""

    @property
    def many_organizations(self) -> bool:
        """Whether the warehouse holds more than one organisation: only then does the page name them."""
        return len(self.organizations) > 1

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types only: dates as ISO text, no NaN."""
        return _jsonable(dataclasses.asdict(self))


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# -- reading -------------------------------------------------------------------------------------------


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    result = con.execute(sql, dict(params))
    names = [d[0] for d in result.description]
    return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def _number(value: Any) -> float | None:
    """A float, or None for NULL (DuckDB returns DECIMAL limits as Decimal)."""
    return None if value is None else float(value)


def check_organization(con: duckdb.DuckDBPyConnection, organization: str | None) -> str | None:
    """``organization`` if the warehouse holds it, None for every organisation (None or 'all');
    UnknownOrganization otherwise."""
    if organization is None or organization == ALL:
        return None
    check_organizations(con, [organization])
    return organization


def loaded_bounds(
    con: duckdb.DuckDBPyConnection, organization: str | None = None
) -> tuple[dt.date, dt.date] | None:
    """The first and the last loaded day of the organisation (None: a day every organisation has
    loaded), or None when no day is loaded."""
    first, last = con.execute(read_sql("report/loaded_bounds"), {"organization": organization}).fetchall()[0]
    return None if last is None else (first, last)


def resolve_period(
    con: duckdb.DuckDBPyConnection,
    start: dt.date | None = None,
    end: dt.date | None = None,
    *,
    organization: str | None = None,
) -> Period:
    """The report's period from what the caller gave and what is loaded (for the organisation; None:
    the days every organisation has loaded).

    Neither: the 28 days ending on the latest loaded day, but not before the first loaded day. Only
    ``end``: the 28 days ending on it. Only ``start``: from it to the latest loaded day.
    """
    if start is not None and end is not None:
        if end < start:
            raise ValueError(f"--end {end} is before --start {start}; swap them")
        return Period(start, end)
    if start is None and end is not None:
        return Period(end - dt.timedelta(days=REPORT_DAYS - 1), end)
    bounds = loaded_bounds(con, organization)
    if bounds is None:
        raise NoLoadedDays(
            "the warehouse has no loaded day yet; "
            "run `analytics-pipeline demo`, `nightly` or a backfill first"
        )
    first, last = bounds
    if start is not None:
        if start > last:
            raise ValueError(f"--start {start} is after the latest loaded day {last}; use an earlier --start")
        return Period(start, last)
    return Period(max(first, last - dt.timedelta(days=REPORT_DAYS - 1)), last)


def _coverage(row: Mapping[str, Any]) -> Coverage:
    return Coverage(
        start=row["start_date"],
        end=row["end_date"],
        days_in_range=row["days_in_range"],
        days_loaded=row["days_loaded"],
        days_missing=row["days_missing"],
        days_beyond_reach=row["days_beyond_reach"],
    )


KPIS: tuple[tuple[str, str, Literal["count", "rate", "credits"]], ...] = (
    ("active_users", "Active users", "count"),
    ("total_messages", "Messages", "count"),
    ("total_modified_lines_of_code", "Modified lines", "count"),
    ("completion_acceptance_rate", "Completion acceptance", "rate"),
    ("line_acceptance_rate", "Line acceptance", "rate"),
    ("credits_consumed", "Credits", "credits"),
)
"""usage_summary column, tile label, kind: the KPI tiles, in order."""


def _change(kind: str, value: float | None, previous: float | None) -> float | None:
    if value is None or previous is None:
        return None
    if kind == "rate":
        return value - previous
    return value / previous - 1 if previous else None


def _kpis(now: Mapping[str, Any], before: Mapping[str, Any]) -> list[Kpi]:
    kpis = []
    for key, label, kind in KPIS:
        value, previous = _number(now[key]), _number(before[key])
        kpis.append(Kpi(key, label, kind, value, previous, _change(kind, value, previous)))
    return kpis


def _label(grain: Grain, start: dt.date) -> str:
    if grain == "day":
        return f"{start:%a} {start.day} {start:%b}"
    if grain == "week":
        return f"Week of {start.day} {start:%b}"
    return f"{start:%b %Y}"


PANDAS_PERIODS: dict[Grain, str] = {"day": "D", "week": "W-SUN", "month": "M"}
"""pandas periods matching the macros' grains (ISO weeks: Monday to Sunday)."""


def _mean_or_none(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _active_averages(trailing: pd.DataFrame, grain: Grain, starts: Sequence[dt.date]) -> dict[str, list]:
    """DAU, WAU and MAU per period of ``grain``: their mean over the period's days on which each is
    known (for days, the day's own values)."""
    columns = ["dau", "wau", "mau"]
    days = pd.to_datetime(trailing["date"])
    period = days.dt.to_period(PANDAS_PERIODS[grain]).dt.start_time.dt.date
    means = trailing[columns].astype("float64").groupby(period).mean()
    return {c: [_mean_or_none(means[c].get(s)) for s in starts] for c in columns}


def _timeseries(
    con: duckdb.DuckDBPyConnection, grain: Grain, period: Period, organization: str | None
) -> TimeSeries:
    params = {"grain": grain, "start": period.start, "end": period.end, "organization": organization}
    rows = _rows(con, read_sql("report/timeseries"), params)
    starts = [r["period_start"] for r in rows]
    credits: dict[str, dict[dt.date, float | None]] = {}
    for r in _rows(con, read_sql("report/credits_timeseries"), params):
        credits.setdefault(r["model_name"], {})[r["period_start"]] = _number(r["credits_consumed"])
    trailing_sql = read_sql("report/trailing_actives")
    trailing = con.execute(
        trailing_sql, {"start": period.start, "end": period.end, "organization": organization}
    ).df()
    active = _active_averages(trailing, grain, starts)
    return TimeSeries(
        grain=grain,
        period_start=starts,
        period_end=[r["period_end"] for r in rows],
        labels=[_label(grain, s) for s in starts],
        days_in_range=[r["days_in_range"] for r in rows],
        days_loaded=[r["days_loaded"] for r in rows],
        dau=active["dau"],
        wau=active["wau"],
        mau=active["mau"],
        messages_by_surface={s: [r[c] for r in rows] for s, c in MESSAGE_COLUMNS.items()},
        lines_by_surface={s: [r[c] for r in rows] for s, c in LINE_COLUMNS.items()},
        completion_acceptance_rate=[r["completion_acceptance_rate"] for r in rows],
        line_acceptance_rate=[r["line_acceptance_rate"] for r in rows],
        credits_by_model={
            model: [by_period.get(s) for s in starts]
            for model, by_period in sorted(
                credits.items(), key=lambda item: -sum(v or 0 for v in item[1].values())
            )
        },
    )


def _user(row: Mapping[str, Any]) -> str:
    return row["user_email"] if row["user_email"] is not None else row["service_account_name"]


def _breakdown(
    con: duckdb.DuckDBPyConnection, sql: str, name: str, params: Mapping[str, Any]
) -> list[BreakdownRow]:
    return [
        BreakdownRow(
            name=r[name],
            active_users=r["active_users"],
            messages=r["total_messages"],
            lines_of_code=r["total_modified_lines_of_code"],
            completion_acceptance_rate=r["completion_acceptance_rate"],
            line_acceptance_rate=r["line_acceptance_rate"],
            share_of_lines=r["share_of_lines"],
        )
        for r in _rows(con, sql, params)
    ]


def _threshold(percent: float | None) -> int | None:
    reached = [t for t in BUDGET_THRESHOLDS if percent is not None and percent >= t]
    return max(reached) if reached else None


def _budgets(con: duckdb.DuckDBPyConnection, month_day: dt.date, organization: str | None) -> Budgets:
    rows = _rows(con, read_sql("report/budgets"), {"month": month_day, "organization": organization})
    credit = [r for r in rows if r["resource"] == CREDITS_RESOURCE]
    budget_rows = []
    for r in credit:
        if r["credits_consumed"] is None:  # no day of the month loaded: nothing to measure yet
            continue
        limit = float(r["limit_value"])
        projected = _number(r["projected_month_end"])
        budget_rows.append(
            BudgetRow(
                organization=r["organization"],
                user=r["user_email"],
                limit_value=limit,
                credits_consumed=float(r["credits_consumed"]),
                percent_used=r["percent_used"],
                projected_month_end=projected,
                projected_percent=100 * projected / limit if projected is not None and limit else None,
                limit_reached_date=r["limit_reached_date"],
                projected_limit_date=r["projected_limit_date"],
                threshold=_threshold(r["percent_used"]),
            )
        )
    budget_rows.sort(key=lambda b: (-(b.percent_used or 0), b.user, b.organization))
    listed = [b for b in budget_rows if b.threshold is not None]
    first = rows[0] if rows else None
    month = month_day.replace(day=1)
    return Budgets(
        month=month,
        as_of_date=first["as_of_date"] if first else None,
        days_loaded=first["days_loaded"] if first else 0,
        days_in_month=first["days_in_month"] if first else _days_in_month(month),
        overrides=len(credit),
        unmeasured=len(rows) - len(credit),
        above={str(t): sum(1 for b in budget_rows if (b.percent_used or 0) >= t) for t in BUDGET_THRESHOLDS},
        projected_over=sum(1 for b in budget_rows if (b.projected_percent or 0) >= 100),
        rows=budget_rows[: max(len(listed), BUDGET_CONTEXT_ROWS)],
        changes=_budget_changes(con, organization),
    )


def _budget_changes(con: duckdb.DuckDBPyConnection, organization: str | None) -> list[BudgetChangeRow]:
    if not table_exists(con, "fct_budget_changes"):  # a warehouse last written before budgets apply
        return []
    params = {"organization": organization, "limit": BUDGET_CHANGES_SHOWN}
    return [
        BudgetChangeRow(
            changed_at=r["changed_at"].astimezone(dt.UTC),
            organization=r["organization"],
            user=r["user_email"],
            resource=r["resource"].removeprefix("BUDGET_RESOURCE_"),
            action=r["action"],
            old_limit=_number(r["old_limit"]),
            new_limit=float(r["new_limit"]),
            outcome=r["outcome"],
            changed_by=r["changed_by"],
        )
        for r in _rows(con, read_sql("report/budget_changes"), params)
    ]


def _days_in_month(month: dt.date) -> int:
    following = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return (following - month).days


def _days(
    con: duckdb.DuckDBPyConnection, period: Period, previous: Period, organization: str | None
) -> list[DayStatus]:
    params = {"start": previous.start, "end": period.end, "organization": organization}
    days = []
    for r in _rows(con, read_sql("report/calendar"), params):
        state: DayState
        if not r["loaded"]:
            state = "beyond_reach" if r["beyond_reach"] else "missing"
        elif r["provisional"]:
            state = "provisional"
        elif r["no_activity"]:
            state = "empty"
        else:
            state = "loaded"
        days.append(
            DayStatus(
                r["date"],
                state,
                list(r["missing_endpoints"]),
                r["date"] >= period.start,
                list(r["missing_organizations"]) if not r["loaded"] else [],
            )
        )
    return days


def _by_organization(con: duckdb.DuckDBPyConnection, params: Mapping[str, Any]) -> list[OrganizationRow]:
    rows = _rows(con, read_sql("report/by_organization"), params)
    credits = sum(r["credits_consumed"] or 0 for r in rows)
    return [
        OrganizationRow(
            organization=r["organization"],
            days_loaded=r["days_loaded"],
            active_users=r["active_users"],
            messages=r["total_messages"],
            lines_of_code=r["total_modified_lines_of_code"],
            completion_acceptance_rate=r["completion_acceptance_rate"],
            credits_consumed=_number(r["credits_consumed"]),
            share_of_credits=r["credits_consumed"] / credits
            if credits and r["credits_consumed"] is not None
            else None,
        )
        for r in rows
    ]


def report_data(
    con: duckdb.DuckDBPyConnection,
    period: Period,
    *,
    generated_at: dt.datetime,
    top_users: int = TOP_USERS,
    organization: str | None = None,
) -> ReportData:
    """Everything the report shows for ``period``, from the analysis macros on ``con``: for one
    organisation, or (None) for every organisation in the warehouse."""
    organization = None if organization == "all" else organization
    present = organizations(con)
    previous = period.previous()
    params = {"start": period.start, "end": period.end, "organization": organization}
    (now,) = _rows(con, read_sql("report/summary"), params)
    (before,) = _rows(
        con,
        read_sql("report/summary"),
        {"start": previous.start, "end": previous.end, "organization": organization},
    )
    return ReportData(
        generated_at=generated_at,
        organization=organization,
        organizations=present,
        period=_coverage(now),
        previous=_coverage(before),
        kpis=_kpis(now, before),
        timeseries={grain: _timeseries(con, grain, period, organization) for grain in GRAINS},
        surfaces=[
            SurfaceRow(
                surface=r["surface"],
                label=SURFACES[r["surface"]],
                messages=r["messages"],
                lines_of_code=r["lines_of_code"],
                active_users=r["active_users"],
                share_of_lines=r["share_of_lines"],
            )
            for r in _rows(con, read_sql("report/surfaces"), params)
        ],
        editors=_breakdown(con, read_sql("report/editors"), "editor", params),
        languages=_breakdown(con, read_sql("report/languages"), "language", params),
        models=[
            ModelRow(r["model_name"], float(r["credits_consumed"]), r["share_of_credits"], r["users"])
            for r in _rows(con, read_sql("report/models"), params)
        ],
        top_users_by_lines=[
            UserLinesRow(
                organization=r["organization"],
                user=_user(r),
                is_service_account=r["is_service_account"],
                active_days=r["active_days"],
                lines_of_code=r["total_modified_lines_of_code"],
                messages=r["total_messages"],
                completion_acceptance_rate=r["completion_acceptance_rate"],
                credits_consumed=_number(r["credits_consumed"]),
            )
            for r in _rows(con, read_sql("report/top_users_by_lines"), {**params, "limit": top_users})
        ],
        top_users_by_credits=[
            UserCreditsRow(
                organization=r["organization"],
                user=_user(r),
                is_service_account=r["is_service_account"],
                credits_consumed=float(r["credits_consumed"]),
                share_of_credits=r["share_of_credits"],
                top_model=r["top_model"],
                days_used=r["days_used"],
            )
            for r in _rows(con, read_sql("report/top_users_by_credits"), {**params, "limit": top_users})
        ],
        budgets=_budgets(con, period.end, organization),
        days=_days(con, period, previous, organization),
        by_organization=_by_organization(con, params) if organization is None and len(present) > 1 else [],
    )
