"""What the warehouse already holds of an organisation, so that a stopped backfill resumes where it left off.

Days the warehouse holds are left out of every run, and each run asks the raw assets to skip
partitions already on disk, so a resumed backfill fetches no completed day, window or month again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from analytics_pipeline.api.endpoints import ASSET_ENDPOINTS, LANDED, USER_ACTIVITY_MONTHLY, Endpoint
from analytics_pipeline.dates import days_between
from analytics_pipeline.landing import RawStore, month_is_current
from analytics_pipeline.warehouse import WarehouseDoors
from analytics_pipeline.warehouse.sql import read_sql, table_exists


def loaded_pairs(
    warehouse: WarehouseDoors, start: dt.date, end: dt.date, *, organization: str
) -> set[tuple[str, dt.date]]:
    """(endpoint, day) pairs in ``start..end`` the warehouse holds of ``organization``, for the daily
    endpoints."""
    if not warehouse.exists():
        return set()
    params = {"start": start, "end": end, "endpoints": [e.name for e in LANDED], "organization": organization}
    with warehouse.reader(wait=True) as con:
        if not table_exists(con, "pipeline_partitions"):  # a first writer killed before its schema
            return set()
        return {(name, day) for name, day in con.execute(read_sql("pipeline/loaded_days"), params).fetchall()}


def daily_of(endpoints: Sequence[Endpoint]) -> list[Endpoint]:
    """The daily-partitioned endpoints among ``endpoints`` (their days say whether a day is loaded)."""
    names = {e.name for e in endpoints}
    return [e for e in LANDED if e.name in names]


def complete_days(
    days: Sequence[dt.date], loaded: set[tuple[str, dt.date]], endpoints: Sequence[Endpoint]
) -> set[dt.date]:
    """The days of ``days`` for which every daily endpoint of ``endpoints`` is in ``loaded``."""
    daily = daily_of(endpoints)
    return {day for day in days if all((e.name, day) in loaded for e in daily)}


def loaded_days(
    warehouse: WarehouseDoors,
    start: dt.date,
    end: dt.date,
    endpoints: Sequence[Endpoint] = ASSET_ENDPOINTS,
    *,
    organization: str,
) -> set[dt.date]:
    """Days in ``start..end`` for which every daily endpoint (of ``endpoints``) of ``organization`` is in
    the warehouse."""
    loaded = loaded_pairs(warehouse, start, end, organization=organization)
    return complete_days(days_between(start, end), loaded, endpoints)


def months_done(
    warehouse: WarehouseDoors,
    store: RawStore,
    months: Sequence[dt.date],
    today: dt.date,
    *,
    organization: str,
) -> set[dt.date]:
    """Months whose monthly partition is current on disk *and* loaded as landed, for ``organization``.

    Current on disk is not enough: a run killed between landing a month and loading it leaves the
    warehouse without it (or with an older window of it), and the month would never be loaded again.
    """
    endpoint = USER_ACTIVITY_MONTHLY
    current = [m for m in months if month_is_current(store, endpoint, m, today)]
    if not current or not warehouse.exists():
        return set()
    params = {
        "endpoint": endpoint.name,
        "start": min(current),
        "end": max(current),
        "organization": organization,
    }
    with warehouse.reader(wait=True) as con:
        if not table_exists(con, "pipeline_partitions"):  # a first writer killed before its schema
            return set()
        loaded = dict(con.execute(read_sql("pipeline/loaded_months"), params).fetchall())
    return {m for m in current if loaded.get(m) == _window_end(store, endpoint, m)}


def _window_end(store: RawStore, endpoint: Endpoint, month: dt.date) -> dt.date | None:
    """The last day the month's landed partition covers, if it says."""
    window_end = store.info(endpoint, month).window_end
    return dt.date.fromisoformat(window_end) if window_end else None
