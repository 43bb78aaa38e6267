"""A day's ``fct_dau_users`` and ``fct_user_activity`` derived from its editor-language rows, and kept
only when the API's own cheaper answers agree.

daily-user-activity-by-editor-language carries user-activity's 16 metrics per member, language and
editor: a member's day is the sum of their rows, and the day's active members are the members in them.
A derived day is kept only when all three checks hold:

1. dau-count's number for the day equals the number of members derived;
2. daily-usage's totals for the day equal the derived metric sums (a day it omits has none derived);
3. each member's sums over the month (the monthly user-activity the coarse pass loaded), or over the
   backfill's part of it (an answer the caller fetched, when the month's other days are not loaded),
   equal the sums of the member's derived and loaded days, active days included.

A day that fails is left for the caller to fetch from dau and user-activity (the API could not attribute
some activity to an editor, a member was active without metrics, data arrived late): the warehouse is
exactly what the API reports either way. A day dau-count reports empty needs no editor-language rows.

Derived rows are written to the fact tables only, never to the raw layer; ``pipeline_partitions`` records
them with ``source = 'derived'`` and no request. Accepting is one transaction, so a kill leaves each day
derived or not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import duckdb
import pyarrow as pa

from analytics_pipeline.api.endpoints import (
    DAILY_USAGE,
    DAU,
    DAU_COUNT,
    EDITOR_LANGUAGE,
    METRICS,
    USER_ACTIVITY,
    USER_ACTIVITY_MONTHLY,
)
from analytics_pipeline.dates import days_between, month_start
from analytics_pipeline.warehouse.sql import identifiers, read_sql, scalar, transaction

DERIVED_ENDPOINTS: tuple[str, ...] = (DAU.name, USER_ACTIVITY.name)
"""What a derivation writes: these endpoints' fact tables and partitions."""
DERIVED_TABLES: tuple[str, ...] = ("fct_dau_users", "fct_user_activity")
DERIVE_MEMORY_LIMIT = "64MB"
"""DuckDB's cap for a writer that derives a month: a month of 2,000 members' days (staged, checked and
inserted) runs out of the writers' 24 MB, and would then run again with four times it (``headroom``)."""


@dataclass(frozen=True)
class Window:  # hashable: the answers are looked up by window
    """The days a monthly check compares: the month's window, or the backfill's part of it."""

    month: dt.date
    start: dt.date
    end: dt.date

    @property
    def days(self) -> list[dt.date]:
        return days_between(self.start, self.end)


@dataclass
class Verdict:
    """What one derivation pass made of its days."""

    accepted: set[dt.date] = field(default_factory=set)
    """Derived and written (empty days included)."""
    empty: set[dt.date] = field(default_factory=set)
    """Of ``accepted``: days dau-count reports empty."""
    failed: set[dt.date] = field(default_factory=set)
    """A check failed, or cannot be made: fetch them from dau and user-activity."""
    waiting: set[dt.date] = field(default_factory=set)
    """Passed the daily checks, but their month holds days still to be fetched: derive them again after."""
    unready: set[dt.date] = field(default_factory=set)
    """Not derivable yet: dau-count, daily-usage or (for a day with activity) editor-language not loaded."""
    need_answers: dict[dt.date, Window] = field(default_factory=dict)
    """Months whose days outside the backfill are not loaded: their days wait for the API's answer for
    this window (``answers`` of the next pass)."""

    def asking(self, days: Iterable[dt.date]) -> set[dt.date]:
        """The days of ``days`` waiting for an answer (in a month of :attr:`need_answers`)."""
        settled = self.accepted | self.failed | self.waiting | self.unready
        return {d for d in days if month_start(d) in self.need_answers and d not in settled}

    def merge(self, other: Verdict) -> None:
        """Add another pass's verdict on other days."""
        self.accepted |= other.accepted
        self.empty |= other.empty
        self.failed |= other.failed
        self.waiting |= other.waiting
        self.unready |= other.unready
        self.need_answers |= other.need_answers

    def add(self, again: Verdict, asked: set[dt.date]) -> None:
        """The verdict of a second pass over ``asked``, with the answers: days still unsettled are
        refused."""
        self.accepted |= again.accepted
        self.empty |= again.empty
        self.failed |= again.failed | (asked - again.accepted - again.failed - again.waiting)
        self.waiting |= again.waiting
        self.need_answers = {}


def window_answer_table(records: Iterable[Mapping[str, object]]) -> pa.Table:
    """user-activity records (one window's per-member sums) as the table ``stage_window_answer`` reads."""
    rows = list(records)

    def metric(record: Mapping[str, object], name: str) -> object:
        metrics = record.get("metrics")
        return metrics.get(name) if isinstance(metrics, Mapping) else None

    columns: dict[str, pa.Array] = {
        "user_email": pa.array([r.get("user_email") for r in rows], pa.string()),
        "service_account_name": pa.array([r.get("service_account_name") for r in rows], pa.string()),
        "active_days": pa.array([r.get("active_days") for r in rows], pa.int64()),
    }
    for name in METRICS:
        columns[name] = pa.array([metric(r, name) for r in rows], pa.int64())
    return pa.table(columns)


def derive_days(
    con: duckdb.DuckDBPyConnection,
    days: Sequence[dt.date],
    *,
    span: tuple[dt.date, dt.date],
    answers: Mapping[Window, pa.Table],
    organization: str,
) -> Verdict:
    """Derive ``organization``'s ``days`` (final days without loaded dau or user-activity), keep those
    the checks accept (one transaction), and say what became of each.

    ``span`` is the backfill's range: a month partly outside it is checked against ``answers[window]``
    (the API's per-member sums over the month's days within ``span``) unless the rest is loaded.
    """
    if not days:
        return Verdict()
    try:
        return _derive(con, days, span, answers, organization)
    finally:
        con.execute(read_sql("derive/drop_staged"))


def _derive(
    con: duckdb.DuckDBPyConnection,
    days: Sequence[dt.date],
    span: tuple[dt.date, dt.date],
    answers: Mapping[Window, pa.Table],
    organization: str,
) -> Verdict:
    verdict = Verdict()
    org = {"organization": organization}
    ready_params = {
        **org,
        "days": list(days),
        "daily_usage": DAILY_USAGE.name,
        "editor_language": EDITOR_LANGUAGE.name,
    }
    ready = dict(con.execute(read_sql("derive/ready_days"), ready_params).fetchall())
    verdict.unready = set(days) - set(ready)
    candidates = sorted(ready)
    if not candidates:
        return verdict
    con.execute(read_sql("derive/stage_user_days"), {**org, "days": candidates})
    failing = {
        d for (d,) in con.execute(read_sql("derive/failing_days"), {**org, "days": candidates}).fetchall()
    }
    verdict.failed |= failing
    empty = {d for d in candidates if ready[d] and d not in failing}
    passing = set(candidates) - failing - empty
    verdict.empty = empty
    accepted = set(empty)  # dau-count's 0 and no daily-usage: nothing to attribute, whatever the month
    for month, days_of_month in by_month(passing).items():
        month_days = set(days_of_month)
        outcome = _check_month(con, month, month_days, passing | empty, failing, span, answers, org)
        if outcome is True:
            accepted |= month_days
        elif outcome is False:
            verdict.failed |= month_days
        elif isinstance(outcome, Window):
            verdict.need_answers[month] = outcome
        else:
            verdict.waiting |= month_days
    if accepted:
        _accept(con, sorted(accepted), empty, organization)
    verdict.accepted = accepted
    return verdict


def by_month(days: Iterable[dt.date]) -> dict[dt.date, list[dt.date]]:
    """``days`` by calendar month, oldest first: a pass derives one month at a time, so what it stages
    in the writer's memory stays a month's."""
    months: dict[dt.date, list[dt.date]] = {}
    for day in sorted(days):
        months.setdefault(month_start(day), []).append(day)
    return months


def _check_month(
    con: duckdb.DuckDBPyConnection,
    month: dt.date,
    month_days: set[dt.date],
    derived: set[dt.date],
    failing: set[dt.date],
    span: tuple[dt.date, dt.date],
    answers: Mapping[Window, pa.Table],
    org: dict[str, str],
) -> bool | Window | None:
    """True: every member's sums agree; False: they do not, or cannot be checked; a window: the API's
    answer for it is needed; None: wait for days of the month still to be fetched."""
    params = {**org, "monthly": USER_ACTIVITY_MONTHLY.name, "months": [month]}
    rows = con.execute(read_sql("derive/month_windows"), params).fetchall()
    if not rows or rows[0][1] is None or rows[0][2] is None:
        return False  # no monthly answer loaded: nothing to check against
    _, window_start, window_end = rows[0]
    window = Window(month, window_start, window_end)
    loaded = _loaded(con, USER_ACTIVITY.name, window.start, window.end, org)
    uncovered = [d for d in window.days if d not in derived and d not in loaded]
    if not uncovered:
        con.execute(read_sql("derive/stage_month_answer"), {**org, "month": month})
        return _members_agree(con, window, derived, org)
    part = Window(month, max(window.start, span[0]), min(window.end, span[1]))
    inside = [d for d in uncovered if part.start <= d <= part.end]
    if any(d in failing for d in inside):
        return None
    if inside or part.start > part.end:
        return False  # days of the backfill neither derived nor loaded: nothing to sum them from
    answer = answers.get(part)
    if answer is None:
        return part
    con.register("window_answer", answer)
    try:
        con.execute(read_sql("derive/stage_window_answer"))
    finally:
        con.unregister("window_answer")
    return _members_agree(con, part, derived, org)


def _members_agree(
    con: duckdb.DuckDBPyConnection, window: Window, derived: set[dt.date], org: dict[str, str]
) -> bool:
    params = {
        **org,
        "start": window.start,
        "end": window.end,
        "derived_days": sorted(d for d in derived if window.start <= d <= window.end),
    }
    return int(scalar(con, read_sql("derive/members_differ"), params)) == 0


def _accept(
    con: duckdb.DuckDBPyConnection, days: list[dt.date], empty: set[dt.date], organization: str
) -> None:
    """Write the accepted days' derived rows and partitions, replacing whatever they held, at once."""
    org = {"organization": organization}
    with transaction(con):
        for table in DERIVED_TABLES:
            con.execute(read_sql("derive/delete_days", table=identifiers(table)), {**org, "days": days})
        con.execute(read_sql("derive/insert_dau_users"), {**org, "days": days})
        con.execute(read_sql("derive/insert_user_activity"), {**org, "days": days})
        _record(con, days, list(DERIVED_ENDPOINTS), org)
        # An empty day's editor-language was not asked either: derived (empty) too, unless it was loaded.
        unasked = sorted(empty - _loaded(con, EDITOR_LANGUAGE.name, min(days), max(days), org))
        if unasked:
            _record(con, unasked, [EDITOR_LANGUAGE.name], org)


def _loaded(
    con: duckdb.DuckDBPyConnection, endpoint: str, start: dt.date, end: dt.date, org: dict[str, str]
) -> set[dt.date]:
    """The days from ``start`` to ``end`` with ``endpoint``'s partition loaded."""
    params = {**org, "endpoint": endpoint, "start": start, "end": end}
    return {d for (d,) in con.execute(read_sql("derive/loaded_endpoint_days"), params).fetchall()}


def _record(
    con: duckdb.DuckDBPyConnection, days: list[dt.date], endpoints: list[str], org: dict[str, str]
) -> None:
    params = {**org, "days": days, "endpoints": endpoints}
    con.execute(read_sql("derive/forget_partitions"), params)
    con.execute(
        read_sql("derive/record_partitions"),
        {**params, "editor_language": EDITOR_LANGUAGE.name, "dau_count": DAU_COUNT.name},
    )
