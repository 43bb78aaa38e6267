"""Fetch an endpoint for a set of days and land one Parquet partition per day.

The fewest requests for the days asked: range endpoints that date their records are fetched in
windows of up to 90 days and split per day; per-day endpoints (and user-activity, whose per-day
grain needs a one-day range) are fetched day by day at the maximum page size; budget overrides are
read once per run (they are real-time configuration) and that snapshot is written to every day of
the run. Pages stream to disk, so memory stays flat whatever the range.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from analytics_pipeline.api.endpoints import BUDGET_PERIODS, BUDGET_RESOURCES, Endpoint, Shape
from analytics_pipeline.dates import contiguous_windows
from analytics_pipeline.landing.records import RecordError
from analytics_pipeline.landing.store import PartitionInfo, PartitionWriter, RawStore


class PageLike(Protocol):
    records: list[dict[str, Any]]


class FetchingClient(Protocol):
    """What landing needs of the API client."""

    requests_sent: int

    def fetch(
        self,
        endpoint: Endpoint,
        *,
        start: dt.date | None = None,
        end: dt.date | None = None,
        day: dt.date | None = None,
        body: dict[str, Any] | None = None,
    ) -> Iterator[PageLike]: ...


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class LandingResult:
    """What one landing call did, for the asset's metadata."""

    endpoint: str
    partitions: list[PartitionInfo] = field(default_factory=list)
    requests: int = 0
    pages: int = 0

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.partitions)

    @property
    def unknown_fields(self) -> list[str]:
        return sorted({name for p in self.partitions for name in p.unknown_fields})


class Lander:
    """Lands one endpoint's partitions through a client into a store."""

    def __init__(
        self, client: FetchingClient, store: RawStore, *, clock: Callable[[], dt.datetime] = _utc_now
    ) -> None:
        self.client = client
        self.store = store
        self.clock = clock

    def land(self, endpoint: Endpoint, days: Sequence[dt.date]) -> LandingResult:
        """Fetch and land ``endpoint`` for ``days``; each day's partition is replaced atomically."""
        result = LandingResult(endpoint.name)
        if endpoint.shape is Shape.SNAPSHOT:
            self._land_snapshot(endpoint, days, result)
        elif endpoint.shape is Shape.RANGE and endpoint.record_date_field:
            for start, end in contiguous_windows(days):
                self._land_window(endpoint, start, end, result)
        elif endpoint.shape in (Shape.RANGE, Shape.DAY):
            for day in sorted(set(days), reverse=True):
                self._land_day(endpoint, day, result)
        else:
            raise ValueError(f"{endpoint.name} is not a landed endpoint")
        return result

    def _fetch(self, endpoint: Endpoint, result: LandingResult, **query: Any) -> Iterator[PageLike]:
        before = self.client.requests_sent
        try:
            for page in self.client.fetch(endpoint, **query):
                result.pages += 1
                yield page
        finally:
            result.requests += self.client.requests_sent - before

    def _publish(
        self,
        writers: dict[dt.date, PartitionWriter],
        result: LandingResult,
        requests: int,
        pages: int,
        window: tuple[dt.date, dt.date] | None,
    ) -> None:
        fetched_at = self.clock().isoformat()
        newest = max(writers)
        for day, writer in sorted(writers.items()):
            writer.info.fetched_at = fetched_at
            writer.info.requests = requests if day == newest else 0
            writer.info.pages = pages if day == newest else 0
            if window:
                writer.info.window_start, writer.info.window_end = (d.isoformat() for d in window)
            result.partitions.append(writer.commit())

    def _land_window(self, endpoint: Endpoint, start: dt.date, end: dt.date, result: LandingResult) -> None:
        requests, pages = result.requests, result.pages
        date_field = endpoint.record_date_field
        assert date_field is not None
        with contextlib.ExitStack() as stack:
            writers = {
                day: stack.enter_context(self.store.writer(endpoint, day))
                for day in (start + dt.timedelta(days=i) for i in range((end - start).days + 1))
            }
            for page in self._fetch(endpoint, result, start=start, end=end):
                by_day: dict[dt.date, list[dict[str, Any]]] = {}
                for record in page.records:
                    try:
                        day = dt.date.fromisoformat(record[date_field])
                    except (KeyError, TypeError, ValueError):
                        raise RecordError(
                            f"{endpoint.name}: record without a valid {date_field!r}: {record!r:.200}"
                        ) from None
                    if day not in writers:
                        raise RecordError(f"{endpoint.name}: record dated {day}, outside {start}..{end}")
                    by_day.setdefault(day, []).append(record)
                for day, records in by_day.items():
                    writers[day].write(records)
            self._publish(
                writers, result, result.requests - requests, result.pages - pages, (start, end)
            )

    def _land_day(self, endpoint: Endpoint, day: dt.date, result: LandingResult) -> None:
        requests, pages = result.requests, result.pages
        query = {"start": day, "end": day} if endpoint.shape is Shape.RANGE else {"day": day}
        with self.store.writer(endpoint, day) as writer:
            for page in self._fetch(endpoint, result, **query):
                writer.write(page.records)
            self._publish({day: writer}, result, result.requests - requests, result.pages - pages, None)

    def _land_snapshot(self, endpoint: Endpoint, days: Sequence[dt.date], result: LandingResult) -> None:
        snapshot: list[tuple[list[dict[str, Any]], dict[str, str]]] = []
        for resource in BUDGET_RESOURCES:
            for period in BUDGET_PERIODS:
                defaults = {"resource": resource, "period": period}
                for page in self._fetch(endpoint, result, body=dict(defaults)):
                    snapshot.append((page.records, defaults))
        with contextlib.ExitStack() as stack:
            writers = {day: stack.enter_context(self.store.writer(endpoint, day)) for day in set(days)}
            for writer in writers.values():
                for records, defaults in snapshot:
                    writer.write(records, defaults)
            self._publish(writers, result, result.requests, result.pages, None)
