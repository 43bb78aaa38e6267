"""The request plan for a real range: a few cheap range calls, the warehouse's history, and estimates.

dau-count gives active users per day for up to 90 days in one request, and active users fix the
dau and user-activity counts exactly. The rest is estimated from them: editor-language rows and
credit records per day as active users times a ratio, and a calendar month's active users as the
month's highest DAU times a ratio. The ratios are learned from the warehouse where it already holds
loaded days, else they are :data:`DEFAULT_RATIOS`. DAU the warehouse already holds is not fetched
again, and days loaded for every endpoint that needs a count are not asked about at all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace

import duckdb

from analytics_pipeline import dates
from analytics_pipeline.api import AnalyticsClient
from analytics_pipeline.api.endpoints import (
    ASSET_ENDPOINTS,
    CREDIT_USAGE,
    DAU,
    EDITOR_LANGUAGE,
    Endpoint,
    PlanCount,
)
from analytics_pipeline.backfill.derivation import derives, final_days
from analytics_pipeline.backfill.estimate import (
    MONTHLY,
    RECORDS_PER_DAY,
    DayCounts,
    Derivation,
    RequestPlan,
    check_windows,
    plan_requests,
)
from analytics_pipeline.dates import month_start
from analytics_pipeline.organization import DEFAULT_ORGANIZATION
from analytics_pipeline.provisional import DEFAULT_RECHECK_DAYS
from analytics_pipeline.warehouse import WarehouseDoors
from analytics_pipeline.warehouse.sql import read_sql, table_exists

ESTIMATED_COUNTS: frozenset[PlanCount] = frozenset(
    {PlanCount.EDITOR_LANGUAGE_RECORDS, PlanCount.CREDIT_RECORDS, PlanCount.MONTHLY_USERS}
)
"""The counts guessed from active users by a ratio (dau-count gives active users themselves)."""

ESTIMATED: frozenset[str] = frozenset(e.name for e in ASSET_ENDPOINTS if e.plan_count in ESTIMATED_COUNTS)
"""The plan lines that rest on an estimate."""

COUNTED: tuple[str, ...] = tuple(RECORDS_PER_DAY)
"""Endpoints whose plan needs a day's counts (the others cost the same whatever the day holds)."""

MONTH_DAYS_FOR_RATIO = 28
"""A month's peak DAU is compared with its monthly users only when the warehouse holds this many days."""


@dataclass(frozen=True)
class Ratios:
    """Records per active user, used to estimate what dau-count does not say."""

    editor_language: float = 1.5
    """editor-language rows per active user per day (a user works in 1.5 language/editor pairs)."""
    credit: float = 1.6
    """credit records, (user, model) pairs, per active user per day."""
    monthly: float = 1.3
    """a calendar month's active users per its highest DAU."""
    learned: frozenset[str] = frozenset()
    """Names of the ratios taken from the warehouse's history (the others are the defaults)."""


DEFAULT_RATIOS = Ratios()


DEFAULT_FALLBACK_SHARE = 0.05
"""The share of final days expected to fail a derivation's checks, until the warehouse holds days to
learn it from: the share of rows the issue's fault scenario leaves unattributed, as an order of size."""
MIN_DAYS_FOR_FALLBACK = 7
"""Days with activity the warehouse must hold before the fallback share is learned from them."""


@dataclass(frozen=True)
class History:
    """What the warehouse already knows about a range."""

    loaded: frozenset[tuple[str, dt.date]]
    dau: dict[dt.date, int]
    ratios: Ratios
    fallback_share: float | None = None
    """The share of the warehouse's days with activity that would fail a derivation's checks (None: too
    few days to tell)."""


@dataclass(frozen=True)
class LivePlan:
    """A plan made against the API, and what making it cost."""

    plan: RequestPlan
    ratios: Ratios
    requests_used: int
    """Requests the plan itself sent (the dau-count windows)."""
    dau_windows: tuple[tuple[dt.date, dt.date], ...]
    fallback_learned: bool = False
    """Whether the fallback share comes from the warehouse's days (else the default)."""


def _daily_ratios(con: duckdb.DuckDBPyConnection, organization: str) -> dict[str, float]:
    params = {
        "dau": DAU.name,
        "editor_language": EDITOR_LANGUAGE.name,
        "credit_usage": CREDIT_USAGE.name,
        "organization": organization,
    }
    rows = con.execute(read_sql("pipeline/rows_per_active_user"), params).fetchall()
    return {name: float(ratio) for name, ratio in rows if ratio is not None}


def _monthly_ratio(con: duckdb.DuckDBPyConnection, organization: str) -> float | None:
    try:
        sql = read_sql("reads/monthly_users_per_peak_dau")
        rows = con.execute(sql, {"days": MONTH_DAYS_FOR_RATIO, "organization": organization}).fetchall()
    except duckdb.CatalogException:  # a warehouse from before the monthly table existed
        return None
    ratio = rows[0][0] if rows else None
    return float(ratio) if ratio is not None else None


def ratios_from(daily: Mapping[str, float], monthly: float | None) -> Ratios:
    """The learned ratios where there are some, the defaults elsewhere."""
    learned: dict[str, float] = {}
    if EDITOR_LANGUAGE.name in daily:
        learned["editor_language"] = daily[EDITOR_LANGUAGE.name]
    if CREDIT_USAGE.name in daily:
        learned["credit"] = daily[CREDIT_USAGE.name]
    if monthly is not None:
        learned["monthly"] = monthly
    return replace(DEFAULT_RATIOS, **learned, learned=frozenset(learned))


def read_history(warehouse: WarehouseDoors, start: dt.date, end: dt.date, *, organization: str) -> History:
    """``organization``'s loaded (endpoint, day) pairs, known DAU and learned ratios; nothing when there is
    no warehouse.

    The range is widened to its first month's first day, where a monthly pass records its month.
    """
    if not warehouse.exists():
        return History(frozenset(), {}, DEFAULT_RATIOS)
    params = {"start": month_start(start), "end": end, "organization": organization}
    with warehouse.reader(wait=True) as con:  # a load may hold the file for a moment: wait, not fail
        if not table_exists(con, "pipeline_partitions"):  # a first run killed before its schema was written
            return History(frozenset(), {}, DEFAULT_RATIOS)
        rows = con.execute(read_sql("pipeline/loaded_partitions"), {**params, "monthly": MONTHLY}).fetchall()
        loaded = frozenset((name, day) for name, day in rows)
        counts = con.execute(read_sql("reads/dau_counts"), params).fetchall()
        dau = {day: int(count) for day, count in counts if count is not None}
        ratios = ratios_from(_daily_ratios(con, organization), _monthly_ratio(con, organization))
        share = _fallback_share(con, organization)
    return History(loaded, dau, ratios, share)


def _fallback_share(con: duckdb.DuckDBPyConnection, organization: str) -> float | None:
    """How many of the warehouse's days would fail the checks, as a share (None: too few days)."""
    params = {"organization": organization, "editor_language": EDITOR_LANGUAGE.name}
    days, failing = con.execute(read_sql("reads/fallback_share"), params).fetchall()[0]
    return failing / days if days >= MIN_DAYS_FOR_FALLBACK else None


def days_needing_counts(days: Sequence[dt.date], loaded: AbstractSet[tuple[str, dt.date]]) -> list[dt.date]:
    """Days whose active users the plan needs: a counted endpoint or the day's month is still to load."""
    return [
        d
        for d in days
        if any((name, d) not in loaded for name in COUNTED) or (MONTHLY, month_start(d)) not in loaded
    ]


def fetch_dau(
    client: AnalyticsClient, days: Sequence[dt.date]
) -> tuple[dict[dt.date, int], list[tuple[dt.date, dt.date]]]:
    """Active users per day from dau-count, one request per window of up to 90 consecutive days."""
    windows = dates.contiguous_windows(days, dates.MAX_RANGE_DAYS)
    dau: dict[dt.date, int] = {}
    for start, end in windows:
        for record in client.dau_count(start, end):
            dau[dt.date.fromisoformat(record["date"])] = int(record["user_count"])
    return dau, windows


def estimate_counts(
    dau: Mapping[dt.date, int], ratios: Ratios
) -> tuple[dict[dt.date, DayCounts], dict[dt.date, int]]:
    """Per-day counts and monthly users estimated from daily active users."""
    counts = {
        day: DayCounts(
            active_users=users,
            editor_language_records=round(users * ratios.editor_language),
            credit_records=round(users * ratios.credit),
        )
        for day, users in dau.items()
    }
    peaks: dict[dt.date, int] = {}
    for day, users in dau.items():
        peaks[month_start(day)] = max(peaks.get(month_start(day), 0), users)
    return counts, {month: round(peak * ratios.monthly) for month, peak in peaks.items()}


def live_plan(
    client: AnalyticsClient,
    warehouse: WarehouseDoors,
    start: dt.date,
    end: dt.date,
    *,
    snapshots: int = 1,
    endpoints: Sequence[Endpoint] = ASSET_ENDPOINTS,
    today: dt.date | None = None,
    organization: str = DEFAULT_ORGANIZATION,
    derive: bool = True,
    recheck_days: int = DEFAULT_RECHECK_DAYS,
) -> LivePlan:
    """The plan for ``start..end`` (of ``endpoints``) of ``organization`` (whose token ``client`` holds):
    warehouse history first, dau-count for the days it lacks. Days before
    :func:`~dates.reachable_floor` (as of ``today``, UTC today by default) are left out, as a backfill
    leaves them out. ``derive``: planned as a deriving backfill (its final days as of ``today`` and
    ``recheck_days``; the command line's default), with the fallback share learned from the warehouse
    where it holds enough days."""
    today = today or dates.utc_today()
    floor = dates.reachable_floor(today)
    days = dates.days_between(max(start, floor), end)
    history = read_history(warehouse, start, end, organization=organization)
    needed = days_needing_counts(days, history.loaded)
    before = client.requests_sent
    fetched, windows = fetch_dau(client, [d for d in needed if d not in history.dau])
    known = {d: history.dau[d] for d in needed if d in history.dau} | fetched
    counts, monthly = estimate_counts(known, history.ratios)
    derivation = None
    if derive and derives(endpoints):
        final = set(final_days(days, today, recheck_days))
        derivation = Derivation(
            final,
            DEFAULT_FALLBACK_SHARE if history.fallback_share is None else history.fallback_share,
            check_windows(days, final, history.loaded, today),
        )
    plan = plan_requests(
        days,
        counts,
        monthly_users=monthly,
        loaded=history.loaded,
        snapshots=snapshots,
        estimated=ESTIMATED,
        endpoints=endpoints,
        derivation=derivation,
    )
    learned = history.fallback_share is not None
    return LivePlan(plan, history.ratios, client.requests_sent - before, tuple(windows), learned)
