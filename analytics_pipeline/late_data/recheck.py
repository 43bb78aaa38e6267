"""The nightly re-check of provisional days: late and restated data, found cheaply and re-loaded.

For the provisional days before the night's partition
(:func:`~analytics_pipeline.provisional.recheck_window`):

1. the **range endpoints** (dau-count, daily-usage, credit-usage) are fetched again over the whole
   window: one request each serves every day of it (credit usage: one per 500 records). A day whose
   records differ from what the warehouse loaded (their content digests differ) has *changed*;
2. a changed day, or one with an endpoint never loaded (a missed night), has its **per-day endpoints**
   (dau, user-activity, editor-language) fetched again (so is a damaged one, once quarantined), and
   the calendar months it falls in are fetched again for ``fct_user_activity_monthly`` (unless the run
   refreshes that month itself);
3. everything fetched is loaded; the partitions of an unchanged day are recorded as confirmed (a day a
   backfill derived dau and user-activity for is final already: those two stand as derived)
   (``pipeline_partitions.checked_at``, ``provisional``), and every day's outcome is added to
   ``pipeline_rechecks``.

So an unchanged night costs the range requests only, and a changed day costs what a first load of
that day costs. Which endpoint plays which part is its ``recheck`` role in the endpoint table
(:class:`~analytics_pipeline.api.endpoints.Recheck`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import duckdb

from analytics_pipeline.api.endpoints import ASSET_ENDPOINTS, LANDED, Endpoint, Recheck, daily_view
from analytics_pipeline.dates import month_start
from analytics_pipeline.landing import Lander, LandingResult
from analytics_pipeline.organization import DEFAULT_ORGANIZATION
from analytics_pipeline.warehouse import (
    WarehouseDoors,
    confirm_partition,
    derived_partitions,
    load_partition,
    loaded_digests,
    record_recheck,
)
from analytics_pipeline.warehouse.headroom import write_with_headroom
from analytics_pipeline.warehouse.sql import transaction


def _rechecked(role: Recheck) -> tuple[Endpoint, ...]:
    """The endpoints the re-check treats as ``role``, in the endpoint table's order."""
    return tuple(e for e in ASSET_ENDPOINTS if e.recheck is role)


RANGE_ENDPOINTS: tuple[Endpoint, ...] = _rechecked(Recheck.BY_DIGEST)
"""Re-fetched for every provisional day: many days per request."""
PER_DAY_ENDPOINTS: tuple[Endpoint, ...] = _rechecked(Recheck.IF_CHANGED)
"""Re-fetched only for days that changed (or were never loaded)."""
SNAPSHOT_ENDPOINTS: tuple[Endpoint, ...] = _rechecked(Recheck.IF_MISSING)
"""Re-fetched only for days that have none loaded: a snapshot is landed once per day."""
MONTHLY_ENDPOINTS: tuple[Endpoint, ...] = _rechecked(Recheck.MONTHS_OF_DAILY)
"""Re-fetched for the calendar months of the days re-fetched for their daily view."""

UNCHANGED, CHANGED, MISSING = "unchanged", "changed", "missing"


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class DayOutcome:
    day: dt.date
    changed_endpoints: tuple[str, ...]
    missing_endpoints: tuple[str, ...]

    @property
    def outcome(self) -> str:
        if self.missing_endpoints:
            return MISSING
        return CHANGED if self.changed_endpoints else UNCHANGED


@dataclass
class RecheckOutcome:
    """What a re-check did, for the asset's metadata and materialization events."""

    days: list[DayOutcome] = field(default_factory=list)
    landings: list[LandingResult] = field(default_factory=list)
    loaded: list[tuple[Endpoint, dt.date]] = field(default_factory=list)
    """Every (endpoint, partition) loaded into the warehouse."""

    @property
    def requests(self) -> int:
        return sum(result.requests for result in self.landings)

    def days_with(self, outcome: str) -> list[dt.date]:
        return [d.day for d in self.days if d.outcome == outcome]


class Rechecker:
    """Re-checks provisional days through a :class:`Lander` and re-loads what changed."""

    def __init__(
        self,
        lander: Lander,
        warehouse: WarehouseDoors,
        recheck_days: int,
        *,
        organization: str = DEFAULT_ORGANIZATION,
        clock: Callable[[], dt.datetime] = _utc_now,
    ) -> None:
        self.lander = lander
        self.warehouse = warehouse
        self.recheck_days = recheck_days
        self.organization = organization
        """Whose days these are: ``lander`` lands into its raw store."""
        self.clock = clock

    def run(self, days: Sequence[dt.date], *, months_refreshed: Sequence[dt.date] = ()) -> RecheckOutcome:
        """Re-check ``days``; ``months_refreshed`` are months the calling run lands itself."""
        outcome = RecheckOutcome()
        days = sorted(set(days))
        if not days:
            return outcome
        store = self.lander.store
        with self.warehouse.writer() as con:
            loaded = loaded_digests(con, days, organization=self.organization)
            derived = derived_partitions(con, days, organization=self.organization)
        checked_at = self.clock()
        for endpoint in RANGE_ENDPOINTS:
            outcome.landings.append(self.lander.land(endpoint, days))

        refetched = (*PER_DAY_ENDPOINTS, *SNAPSHOT_ENDPOINTS)
        refetch: dict[str, list[dt.date]] = {e.name: [] for e in refetched}
        for day in days:
            missing = tuple(e.name for e in LANDED if (e.name, day) not in loaded)
            changed = tuple(
                e.name
                for e in RANGE_ENDPOINTS
                if (e.name, day) in loaded and loaded[(e.name, day)] != store.info(e, day).content_digest
            )
            outcome.days.append(DayOutcome(day, changed, missing))
            for endpoint in PER_DAY_ENDPOINTS:
                # exists() quarantines a damaged partition: it is fetched again like a missing one. A
                # derived partition has no landed answer to compare: it stands unless the day changed.
                landed = (endpoint.name, day) in derived or store.exists(endpoint, day)
                if changed or endpoint.name in missing or not landed:
                    refetch[endpoint.name].append(day)
            for endpoint in SNAPSHOT_ENDPOINTS:
                if endpoint.name in missing:
                    refetch[endpoint.name].append(day)
        for endpoint in refetched:
            if refetch[endpoint.name]:
                outcome.landings.append(self.lander.land(endpoint, refetch[endpoint.name]))
        months: dict[str, list[dt.date]] = {}
        for endpoint in MONTHLY_ENDPOINTS:
            refetched_days = refetch[daily_view(endpoint).name]
            months[endpoint.name] = sorted({month_start(d) for d in refetched_days} - set(months_refreshed))
            if months[endpoint.name]:
                outcome.landings.append(self.lander.land(endpoint, months[endpoint.name]))

        def load(con: duckdb.DuckDBPyConnection) -> list[tuple[Endpoint, dt.date]]:
            loaded: list[tuple[Endpoint, dt.date]] = []
            for endpoint in RANGE_ENDPOINTS:
                loaded.extend(self._load(con, endpoint, day) for day in days)
            for endpoint in refetched:
                loaded.extend(self._load(con, endpoint, day) for day in refetch[endpoint.name])
                if endpoint in PER_DAY_ENDPOINTS:
                    kept = set(days) - set(refetch[endpoint.name])
                    for day in sorted(d for d in kept if (endpoint.name, d) not in derived):
                        confirm_partition(
                            con,
                            store,
                            endpoint,
                            day,
                            checked_at,
                            organization=self.organization,
                            recheck_days=self.recheck_days,
                        )
            for endpoint in MONTHLY_ENDPOINTS:
                loaded.extend(self._load(con, endpoint, month) for month in months[endpoint.name])
            with transaction(con):  # all or none, so that running it again adds each day once
                for day_outcome in outcome.days:
                    record_recheck(
                        con,
                        day_outcome.day,
                        checked_at,
                        day_outcome.outcome,
                        list(day_outcome.changed_endpoints),
                        list(day_outcome.missing_endpoints),
                        organization=self.organization,
                    )
            return loaded

        outcome.loaded = write_with_headroom(self.warehouse, load, "loading re-checked days")
        return outcome

    def _load(
        self, con: duckdb.DuckDBPyConnection, endpoint: Endpoint, day: dt.date
    ) -> tuple[Endpoint, dt.date]:
        load_partition(
            con,
            self.lander.store,
            endpoint,
            day,
            organization=self.organization,
            recheck_days=self.recheck_days,
        )
        return endpoint, day
