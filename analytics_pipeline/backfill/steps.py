"""The runs a backfill is split into, ordered so the warehouse is useful long before it is complete.

1. **coarse**: dau-count, daily-usage, the monthly user-activity and one budget snapshot, for the
   whole range (a few requests per 90 days, or per month): two years of organisation-wide and
   per-user monthly history within minutes;
2. then, newest 90-day window first, **credit** usage for the window and the per-day **detail**
   endpoints (dau, user-activity, editor-language) in runs of 30 days, newest first.

Which phase fetches an endpoint is its ``backfill_phase`` in the endpoint table. Days the warehouse
already holds are left out of every step (see :mod:`analytics_pipeline.backfill.loaded`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import dagster as dg

from analytics_pipeline.api.endpoints import ASSET_ENDPOINTS, BackfillPhase, Endpoint
from analytics_pipeline.dates import MAX_RANGE_DAYS, contiguous_windows, days_between, month_start
from analytics_pipeline.defs.organization_names import OrgNames


def in_phase(phase: BackfillPhase, endpoints: Sequence[Endpoint] = ASSET_ENDPOINTS) -> tuple[Endpoint, ...]:
    """The endpoints of ``endpoints`` a backfill fetches in ``phase``, in the endpoint table's order."""
    names = {e.name for e in endpoints}
    return tuple(e for e in ASSET_ENDPOINTS if e.backfill_phase is phase and e.name in names)


COARSE: tuple[Endpoint, ...] = in_phase(BackfillPhase.COARSE)
CREDIT: tuple[Endpoint, ...] = in_phase(BackfillPhase.CREDIT)
DETAIL: tuple[Endpoint, ...] = in_phase(BackfillPhase.DETAIL)
COARSE_RUN_DAYS = 2 * MAX_RANGE_DAYS
"""Coarse runs cover whole 90-day windows (so they cost no extra request) but not two years at once:
a run's bookkeeping grows with its partitions, and memory should not grow with the backfill."""
DETAIL_RUN_DAYS = 30
"""Per-day endpoints cost about a request per endpoint per page per day; 30 days keeps each run short
enough that the newest month is queryable early, and the per-run overhead small."""


@dataclass(frozen=True)
class Step:
    """One in-process run: some endpoints' raw and fact assets of one organisation over ``start..end``."""

    phase: BackfillPhase
    endpoints: tuple[Endpoint, ...]
    start: dt.date
    end: dt.date
    names: OrgNames = field(default_factory=OrgNames)

    @property
    def days(self) -> int:
        """Days the step covers."""
        return (self.end - self.start).days + 1

    def fetch_keys(self) -> list[dg.AssetKey]:
        """The raw assets: what the fetching half of the step materializes."""
        return [self.names.raw(e) for e in self.endpoints]

    def load_keys(self) -> list[dg.AssetKey]:
        """The fact tables and ``dim_users``: what the loading half of the step materializes."""
        return [*(self.names.fact(e) for e in self.endpoints), self.names.dim_users]

    def asset_keys(self) -> list[dg.AssetKey]:
        """Every asset of the step."""
        return [*self.fetch_keys(), *self.load_keys()]


def _todo(
    endpoints: Iterable[Endpoint], days: Sequence[dt.date], loaded: set[tuple[str, dt.date]]
) -> list[dt.date]:
    """The days of ``days`` some endpoint of ``endpoints`` has not loaded."""
    return [d for d in days if any((e.name, d) not in loaded for e in endpoints)]


def plan_steps(
    days: Sequence[dt.date],
    loaded: set[tuple[str, dt.date]],
    months_current: set[dt.date],
    endpoints: Sequence[Endpoint] = ASSET_ENDPOINTS,
    names: OrgNames | None = None,
) -> list[Step]:
    """The runs of a backfill of ``endpoints`` of an organisation (``names``; the default one unless
    given) over ``days``, given what is loaded and which months are current (landed up to date and
    loaded: see :func:`.loaded.months_done`)."""
    names = names or OrgNames()
    coarse_endpoints = in_phase(BackfillPhase.COARSE, endpoints)
    credit_endpoints = in_phase(BackfillPhase.CREDIT, endpoints)
    detail_endpoints = in_phase(BackfillPhase.DETAIL, endpoints)
    steps: list[Step] = []
    coarse = set(_todo([e for e in coarse_endpoints if not e.monthly], days, loaded))
    if any(e.monthly for e in coarse_endpoints):
        coarse |= {d for d in days if month_start(d) not in months_current}
    for start, end in contiguous_windows(sorted(coarse), COARSE_RUN_DAYS):
        steps.append(Step(BackfillPhase.COARSE, coarse_endpoints, start, end, names))
    credit = set(_todo(credit_endpoints, days, loaded))
    detail = set(_todo(detail_endpoints, days, loaded))
    for lo, hi in contiguous_windows(sorted(credit | detail), MAX_RANGE_DAYS):
        window = set(days_between(lo, hi))
        for start, end in contiguous_windows(sorted(credit & window), MAX_RANGE_DAYS):
            steps.append(Step(BackfillPhase.CREDIT, credit_endpoints, start, end, names))
        for start, end in contiguous_windows(sorted(detail & window), DETAIL_RUN_DAYS):
            steps.append(Step(BackfillPhase.DETAIL, detail_endpoints, start, end, names))
    return steps
