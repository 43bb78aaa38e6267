"""The request plan: how many requests a backfill of a range will send, per endpoint, before it runs.

Pure arithmetic over per-day record counts, following exactly how the pipeline fetches (see
:mod:`analytics_pipeline.landing.land`):

- range endpoints that date their records (dau-count, daily-usage, credit-usage by date and model) go in
  windows of consecutive days of at most 90 days, formed from the days still to load; a window costs one
  request, or one per page of the window's records when the endpoint paginates;
- per-day endpoints (dau, editor-language, and user-activity queried one day at a time) cost one
  request per page of the day's records, and an empty day still costs one;
- budget overrides cost one request per (resource, period) per snapshot, and one more for each later
  coarse run that confirms a snapshot before reusing it;
- the coarse monthly pass (``user_activity_monthly``) costs one request per page of each calendar
  month's active users.

A backfill that derives (see :mod:`analytics_pipeline.backfill.derivation`) is planned with a
:class:`Derivation`: its final days cost no dau or user-activity request, except the share of them
expected to fail a check and be fetched after all; a final day dau-count reports empty costs no per-day
request at all; and the part of an edge month the range covers (its other days not loaded) costs one
user-activity query for the check (``user_activity_check``).

The counts come from the sandbox's own numbers (:func:`counts_from_org`, exact) or from a few cheap
range calls and the warehouse's history (:mod:`analytics_pipeline.backfill.estimate_live`, estimated).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Protocol

import pandas as pd

from analytics_pipeline import dates
from analytics_pipeline.api.endpoints import (
    ASSET_ENDPOINTS,
    BUDGET_PERIODS,
    BUDGET_RESOURCES,
    DAU,
    EDITOR_LANGUAGE,
    LANDED,
    USER_ACTIVITY,
    USER_ACTIVITY_MONTHLY,
    Endpoint,
    PlanCount,
    Shape,
)

MONTHLY = USER_ACTIVITY_MONTHLY.name
"""The coarse pass: user-activity queried one calendar month at a time."""
CHECKS = "user_activity_check"
"""A derivation's monthly check of an edge month: user-activity over the range's part of it."""
DERIVED_ENDPOINTS = frozenset({DAU.name, USER_ACTIVITY.name})
"""The endpoints a derived day does not ask."""

PLAN_ENDPOINTS: tuple[str, ...] = tuple(e.name for e in ASSET_ENDPOINTS)
"""Every line of a plan, in order: the landed endpoints, then the monthly views."""

SNAPSHOT_REQUESTS = len(BUDGET_RESOURCES) * len(BUDGET_PERIODS)
"""Requests one budget-override snapshot takes (one query per resource and period)."""
SNAPSHOT_CONFIRM_REQUESTS = 1
"""Requests a later coarse run spends confirming a fresh snapshot before it reuses it (its first query)."""
COARSE_RUN_DAYS = 2 * dates.MAX_RANGE_DAYS
"""The longest coarse run of a backfill (``steps.COARSE_RUN_DAYS``): each run lands the budget snapshot."""


@dataclass(frozen=True)
class DayCounts:
    """What the plan needs to know of one day."""

    active_users: int
    """Daily active users: also the day's dau and user-activity records."""
    editor_language_records: int
    """(user, language, editor) rows that day."""
    credit_records: int
    """(user, model) pairs with credits that day."""


DAY_COUNT: dict[PlanCount, Callable[[DayCounts], int]] = {
    PlanCount.ACTIVE_USERS: lambda c: c.active_users,
    PlanCount.EDITOR_LANGUAGE_RECORDS: lambda c: c.editor_language_records,
    PlanCount.CREDIT_RECORDS: lambda c: c.credit_records,
}
"""Which of a day's counts each per-day :class:`PlanCount` reads."""

RECORDS_PER_DAY: dict[str, Callable[[DayCounts], int]] = {
    e.name: DAY_COUNT[e.plan_count] for e in LANDED if e.plan_count in DAY_COUNT
}
"""How many records each paginated endpoint returns for a day."""


@dataclass(frozen=True)
class Derivation:
    """How a deriving backfill fetches: which days it derives, and how many it expects to fetch anyway."""

    final: AbstractSet[dt.date]
    """The days old enough to derive (the others are fetched from every endpoint)."""
    fallback_share: float
    """The share of final days with activity expected to fail a check and be fetched from dau and
    user-activity."""
    check_windows: Mapping[dt.date, tuple[dt.date, dt.date]] = dataclass_field(default_factory=dict)
    """Per edge month, the days of it the range covers, when its other days are not loaded: one
    user-activity query each, a page per 100 of the month's users."""


@dataclass(frozen=True)
class RequestPlan:
    """Requests per endpoint for a range, and what was already loaded."""

    requests: dict[str, int]
    """Per endpoint name, in :data:`PLAN_ENDPOINTS` order."""
    exact: dict[str, bool]
    """False where the count rests on an estimate."""
    days: int
    days_loaded: int
    """Days of the range loaded for every landed endpoint (what a backfill skips)."""
    loaded_spans: tuple[tuple[dt.date, dt.date], ...] = ()
    """Those days as inclusive runs of consecutive days, oldest first."""
    derived_days: int = 0
    """Final days still to load whose dau and user-activity are to be derived (a deriving backfill)."""
    empty_days: int = 0
    """Of those, days dau-count reports empty: no per-day request at all."""
    fallback_days: float = 0.0
    """Of those, days expected to fail a check and be fetched (an estimate: the fallback share)."""

    @property
    def total(self) -> int:
        return sum(self.requests.values())

    @property
    def all_exact(self) -> bool:
        return all(self.exact.values())

    def eta_seconds(self, requests_per_minute: float, burst: int) -> float:
        """Seconds until the last request may go: the burst goes at once, then one per interval."""
        return eta_seconds(self.total, requests_per_minute, burst)


def eta_seconds(requests: int, requests_per_minute: float, burst: int) -> float:
    """Seconds a token bucket (``burst``, then ``requests_per_minute``) needs to let ``requests`` go."""
    if requests_per_minute <= 0 or burst < 1:
        raise ValueError("requests_per_minute must be positive and burst at least 1")
    return max(0, requests - burst) * 60.0 / requests_per_minute


def pages(records: int, page_max: int | None) -> int:
    """Requests one query costs: one per page, and one for an empty answer or an unpaginated endpoint."""
    if page_max is None:
        return 1
    return max(1, math.ceil(records / page_max))


def spans(days: Iterable[dt.date]) -> tuple[tuple[dt.date, dt.date], ...]:
    """Inclusive runs of consecutive days, oldest first."""
    runs: list[tuple[dt.date, dt.date]] = []
    for day in sorted(set(days)):
        if runs and runs[-1][1] == day - dt.timedelta(days=1):
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return tuple(runs)


def _records(counts: Mapping[dt.date, DayCounts], endpoint: str, day: dt.date) -> int:
    try:
        return RECORDS_PER_DAY[endpoint](counts[day])
    except KeyError:
        # A missing day would silently plan too few requests.
        raise ValueError(f"no counts for {day}: the plan for {endpoint} needs them") from None


def _endpoint_requests(
    endpoint: Endpoint, todo: Sequence[dt.date], counts: Mapping[dt.date, DayCounts], snapshots: int
) -> int:
    """Requests for one daily-partitioned endpoint over the days still to load."""
    if not todo:
        return 0
    if endpoint.shape is Shape.SNAPSHOT:
        runs = len(dates.contiguous_windows(todo, COARSE_RUN_DAYS))
        return SNAPSHOT_REQUESTS * snapshots + SNAPSHOT_CONFIRM_REQUESTS * max(0, runs - snapshots)
    if endpoint.shape is Shape.RANGE and endpoint.record_date_field:
        total = 0
        for start, end in dates.contiguous_windows(todo, dates.MAX_RANGE_DAYS):
            records = (
                sum(_records(counts, endpoint.name, d) for d in dates.days_between(start, end))
                if endpoint.paginated
                else 0
            )
            total += pages(records, endpoint.max_page_size)
        return total
    return sum(pages(_records(counts, endpoint.name, d), endpoint.max_page_size) for d in todo)


def _monthly_requests(
    endpoint: Endpoint,
    days: Sequence[dt.date],
    monthly_users: Mapping[dt.date, int],
    loaded: AbstractSet[tuple[str, dt.date]],
) -> int:
    months = {dates.month_start(d) for d in days}
    todo = sorted(m for m in months if (endpoint.name, m) not in loaded)
    return sum(pages(monthly_users.get(m, 0), endpoint.max_page_size) for m in todo)


def plan_requests(
    days: Sequence[dt.date],
    counts: Mapping[dt.date, DayCounts],
    *,
    monthly_users: Mapping[dt.date, int],
    loaded: AbstractSet[tuple[str, dt.date]] = frozenset(),
    snapshots: int = 1,
    estimated: Iterable[str] = frozenset(),
    endpoints: Sequence[Endpoint] = ASSET_ENDPOINTS,
    derivation: Derivation | None = None,
) -> RequestPlan:
    """The requests a backfill of ``days`` sends, per endpoint.

    ``counts`` holds every day still to load; ``monthly_users`` the active users of each calendar
    month (keyed by its first day; a month missing counts as empty). ``loaded`` holds the (endpoint,
    day) pairs already in the warehouse, skipped here (a monthly view's key is its month's first day);
    windows are formed from the remaining days. ``estimated`` names the endpoints whose counts are
    estimates. ``endpoints`` limits the plan to a backfill of those endpoints only. ``derivation``
    plans a deriving backfill (see the module docstring).
    """
    wanted = sorted(set(days))
    names = {e.name for e in endpoints}
    requests: dict[str, int] = {}
    derived: list[dt.date] = []
    empty: list[dt.date] = []
    if derivation is not None:
        derived = [
            d
            for d in wanted
            if d in derivation.final and any((name, d) not in loaded for name in DERIVED_ENDPOINTS)
        ]
        empty = [d for d in derived if d in counts and counts[d].active_users == 0]
    skipped = set(derived)
    busy = [d for d in derived if d not in set(empty)]
    share = derivation.fallback_share if derivation is not None else 0.0
    for endpoint in (e for e in ASSET_ENDPOINTS if e.name in names):
        if endpoint.monthly:
            requests[endpoint.name] = _monthly_requests(endpoint, wanted, monthly_users, loaded)
            continue
        todo = [d for d in wanted if (endpoint.name, d) not in loaded]
        if endpoint.name in DERIVED_ENDPOINTS:
            fetched = _endpoint_requests(endpoint, [d for d in todo if d not in skipped], counts, snapshots)
            fallback = _endpoint_requests(endpoint, [d for d in todo if d in busy], counts, snapshots)
            requests[endpoint.name] = fetched + math.ceil(share * fallback)
        elif endpoint.name == EDITOR_LANGUAGE.name:
            requests[endpoint.name] = _endpoint_requests(
                endpoint, [d for d in todo if d not in set(empty)], counts, snapshots
            )
        else:
            requests[endpoint.name] = _endpoint_requests(endpoint, todo, counts, snapshots)
    if derivation is not None:
        requests[CHECKS] = sum(
            pages(monthly_users.get(month, 0), USER_ACTIVITY.max_page_size)
            for month in derivation.check_windows
        )
    guessed = set(estimated) | ({DAU.name, USER_ACTIVITY.name} if share else set())
    if MONTHLY in guessed:  # a check's pages are the month's users'
        guessed.add(CHECKS)
    done = [d for d in wanted if all((e.name, d) in loaded for e in LANDED if e.name in names)]
    return RequestPlan(
        requests=requests,
        exact={name: name not in guessed for name in requests},
        days=len(wanted),
        days_loaded=len(done),
        loaded_spans=spans(done),
        derived_days=len(derived),
        empty_days=len(empty),
        fallback_days=share * len(busy),
    )


def check_windows(
    days: Sequence[dt.date],
    final: AbstractSet[dt.date],
    loaded: AbstractSet[tuple[str, dt.date]],
    today: dt.date,
) -> dict[dt.date, tuple[dt.date, dt.date]]:
    """Per month of final days to derive, the range's part of it, when the month's other days (of its
    queried window) are neither in the range nor loaded: what the derivation asks user-activity for."""
    wanted = set(days)
    windows: dict[dt.date, tuple[dt.date, dt.date]] = {}
    for month in sorted({dates.month_start(d) for d in wanted if d in final}):
        queried = dates.monthly_range(month, today)
        if queried is None:
            continue
        outside = [
            d
            for d in dates.days_between(*queried)
            if d not in wanted and (USER_ACTIVITY.name, d) not in loaded
        ]
        if outside:
            inside = [d for d in dates.days_between(*queried) if d in wanted]
            if inside:
                windows[month] = (inside[0], inside[-1])
    return windows


# ------------------------------------------------------------------ exact counts from the sandbox


class ActivitySource(Protocol):
    """What :func:`counts_from_org` needs of a :class:`~analytics_pipeline.sandbox.SyntheticOrg`."""

    def activity(self, day: dt.date) -> pd.DataFrame: ...


def day_counts(frame: pd.DataFrame) -> DayCounts:
    """One day's counts from the sandbox's activity rows (grain: date, user, editor, language, model)."""
    if frame.empty:
        return DayCounts(0, 0, 0)
    credits = frame.groupby(["user_key", "model_name"], sort=False)["credits_consumed"].sum()
    return DayCounts(
        active_users=int(frame["user_key"].nunique()),
        editor_language_records=len(frame.drop_duplicates(["user_key", "language", "editor"])),
        credit_records=int((credits > 0).sum()),
    )


def counts_from_org(
    org: ActivitySource, start: dt.date, end: dt.date, *, today: dt.date | None = None
) -> tuple[dict[dt.date, DayCounts], dict[dt.date, int]]:
    """Exact counts for ``start..end`` and its calendar months, from the sandbox's own numbers.

    Monthly users are counted over each whole calendar month clamped to the API's lookback and
    yesterday (as of ``today``, UTC today by default), as the monthly pass queries it. One month of
    activity is held at a time.
    """
    today = today or dates.utc_today()
    counts: dict[dt.date, DayCounts] = {}
    monthly: dict[dt.date, int] = {}
    for month in sorted({dates.month_start(d) for d in dates.days_between(start, end)}):
        queried = dates.monthly_range(month, today)
        in_range = dates.days_between(max(month, start), min(dates.month_end(month), end))
        users: set[str] = set()
        for day in sorted({*in_range, *(dates.days_between(*queried) if queried else [])}):
            frame = org.activity(day)
            if start <= day <= end:
                counts[day] = day_counts(frame)
            if queried and queried[0] <= day <= queried[1]:
                users.update(frame["user_key"].unique())
        monthly[month] = len(users)
    return counts, monthly
