"""Which days of a backfill are derived from editor-language instead of fetched from dau and
user-activity, and the passes that derive them (see :mod:`analytics_pipeline.warehouse.derive`).

Only final days are derived (see :mod:`analytics_pipeline.provisional`). The newest days are fetched
from every endpoint, as the nightly run fetches them: the nightly re-check compares each endpoint's
answer for a provisional day with a new one, so it needs the answers themselves, and late data makes
those days the likeliest to fail the checks anyway (a few days, a few requests each). The one final day
a nightly re-checks (the one turning final that morning) may be derived: the re-check fetches its
dau and user-activity only if its range endpoints changed (see
:mod:`analytics_pipeline.late_data.recheck`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import dagster as dg
import duckdb
import pyarrow as pa

from analytics_pipeline.api.endpoints import (
    DAILY_USAGE,
    DAU,
    DAU_COUNT,
    EDITOR_LANGUAGE,
    USER_ACTIVITY,
    USER_ACTIVITY_MONTHLY,
    Endpoint,
)
from analytics_pipeline.defs.organization_names import OrgNames
from analytics_pipeline.landing import RawStore
from analytics_pipeline.landing.check_answers import save_window_answer
from analytics_pipeline.landing.check_answers import window_answer as saved_window_answer
from analytics_pipeline.provisional import is_provisional
from analytics_pipeline.warehouse import WarehouseDoors
from analytics_pipeline.warehouse.derive import (
    DERIVE_MEMORY_LIMIT,
    Verdict,
    Window,
    by_month,
    derive_days,
    window_answer_table,
)
from analytics_pipeline.warehouse.headroom import write_with_headroom

NEEDED: tuple[Endpoint, ...] = (
    DAU_COUNT,
    DAILY_USAGE,
    USER_ACTIVITY_MONTHLY,
    EDITOR_LANGUAGE,
    DAU,
    USER_ACTIVITY,
)
"""A backfill derives only when it loads all of these: the rows to derive from, the answers that check
them, and the two endpoints it would otherwise fetch."""
PER_DAY: tuple[Endpoint, ...] = (DAU, USER_ACTIVITY, EDITOR_LANGUAGE)
"""The per-day endpoints: a derived day asks none but editor-language (an empty day, none at all)."""
FALLBACK: tuple[Endpoint, ...] = PER_DAY
"""What a day the checks refuse is fetched from (editor-language is on disk by then: skipped)."""

WindowAnswer = Callable[[dt.date, dt.date], tuple[list[dict[str, object]], int]]
"""The API's user-activity over ``start..end`` (per-member sums): its records and the requests it took."""


def report_derived(
    instance: dg.DagsterInstance, names: OrgNames, accepted: Iterable[dt.date], empty: Iterable[dt.date]
) -> None:
    """Record the derived days on the fact assets' partitions, as materializations with no run:
    ``source`` says "derived" (a load from a landed answer says "api"), so the UI tells them apart. The
    raw assets of dau and user-activity get nothing: no answer of theirs was landed. Nothing is recorded
    on an ephemeral instance: it keeps nothing, and only the thread that made it may use it."""
    if instance.is_ephemeral:
        return
    blank = set(empty)
    for day in sorted(accepted):
        for endpoint in (DAU, USER_ACTIVITY):
            instance.report_runless_asset_event(
                dg.AssetMaterialization(
                    asset_key=names.fact(endpoint),
                    partition=day.isoformat(),
                    metadata={
                        "source": dg.MetadataValue.text("derived"),
                        "derived_from": dg.MetadataValue.text(
                            "dau-count (empty)" if day in blank else "editor-language"
                        ),
                    },
                )
            )


def derives(endpoints: Iterable[Endpoint]) -> bool:
    """Whether a backfill of ``endpoints`` derives days (it loads every endpoint of :data:`NEEDED`)."""
    names = {e.name for e in endpoints}
    return all(e.name in names for e in NEEDED)


def final_days(days: Sequence[dt.date], today: dt.date, recheck_days: int) -> list[dt.date]:
    """The days of ``days`` whose numbers can no longer change (as of ``today``): the derivable ones."""
    return [d for d in days if not is_provisional(d, today, recheck_days)]


@dataclass
class DerivationTotals:
    """What a backfill's derivation passes did, over all of them."""

    derived: int = 0
    empty: int = 0
    fetched: int = 0
    """Days the checks refused (or could not make), fetched from dau and user-activity instead."""
    requests: int = 0
    """user-activity requests for the backfill's part of a month whose other days are not loaded."""


class Derivation:
    """The derivation passes of one organisation's backfill over ``span``: each one derives the days it
    is given, with the API's answer for the part of a month the backfill covers when the month's other
    days are not loaded: kept in ``store`` (see :mod:`~analytics_pipeline.landing.check_answers`), or
    asked through ``window_answer`` and kept; with neither, such days are fetched."""

    def __init__(
        self,
        warehouse: WarehouseDoors,
        store: RawStore,
        organization: str,
        span: tuple[dt.date, dt.date],
        window_answer: WindowAnswer | None,
    ) -> None:
        self._warehouse = warehouse
        self._store = store
        self._organization = organization
        self._span = span
        self._window_answer = window_answer
        self._answers: dict[Window, pa.Table] = {}
        self.totals = DerivationTotals()

    def run(self, days: Sequence[dt.date]) -> Verdict:
        """Derive ``days``, a month at a time; the verdict on each."""
        verdict = Verdict()
        for month_days in by_month(days).values():
            verdict.merge(self._month(month_days))
        self.totals.derived += len(verdict.accepted)
        self.totals.empty += len(verdict.empty)
        return verdict

    def _month(self, days: Sequence[dt.date]) -> Verdict:
        """Derive one month's ``days`` (when the month waits for its answer: asked, then derived)."""
        verdict = self._pass(days)
        if verdict.need_answers:
            asking = verdict.asking(days)
            for window in verdict.need_answers.values():
                self._answer(window)
            verdict.add(self._pass(sorted(asking)), asking)
        return verdict

    def _answer(self, window: Window) -> None:
        """The API's answer for ``window``: kept from an earlier backfill, or asked (and kept); none when
        there is no way to ask (its days are then fetched)."""
        answer = saved_window_answer(self._store, window.month, window.start, window.end)
        if answer is None and self._window_answer is not None:
            records, requests = self._window_answer(window.start, window.end)
            self.totals.requests += requests
            answer = window_answer_table(records)
            save_window_answer(self._store, window.month, window.start, window.end, answer)
        if answer is not None:
            self._answers[window] = answer

    def _pass(self, days: Sequence[dt.date]) -> Verdict:
        """One pass over ``days`` in a writer of its own."""

        def work(con: duckdb.DuckDBPyConnection) -> Verdict:
            return derive_days(
                con, days, span=self._span, answers=self._answers, organization=self._organization
            )

        return write_with_headroom(
            self._warehouse, work, "deriving dau and user_activity", memory_limit=DERIVE_MEMORY_LIMIT
        )
