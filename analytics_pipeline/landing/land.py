"""Fetch an endpoint for a set of days and land one Parquet partition per day (or month).

The fewest requests for the days asked: range endpoints that date their records are fetched in
windows of up to 90 days and split per day; per-day endpoints (and user-activity, whose per-day
grain needs a one-day range) are fetched day by day at the maximum page size; the monthly view of
user-activity is fetched one calendar month at a time. Budget overrides are real-time configuration:
read once per run and written to every day of the run, and a snapshot under a day old is reused for
historical days once one request (its first query, read again) has confirmed it, rather than read again
in full: a token that lost its permission lands nothing. Pages stream to disk, so memory stays flat
whatever the range.

With ``skip_landed``, partitions already on disk are not fetched again (a resumed backfill): a day,
a completed window, or a month whose partition covers the whole month. Nor are partitions another
process (a second backfill over the same days) is fetching: each fetch claims its partitions first,
waits while another holds them, and fetches only those still not landed then.

With a :class:`~analytics_pipeline.privacy.pseudonymize.Pseudonymizer`, each page's records are pseudonymised
as they arrive, before anything else sees them: no email reaches a partition, an error or a log.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from analytics_pipeline.api.endpoints import BUDGET_PERIODS, BUDGET_RESOURCES, Endpoint, Shape
from analytics_pipeline.dates import (
    contiguous_windows,
    days_between,
    month_end,
    month_start,
    monthly_range,
    utc_today,
    yesterday,
)
from analytics_pipeline.landing.arrow_rows import RecordError, records_digest
from analytics_pipeline.landing.store import DamagedPartition, PartitionInfo, PartitionWriter, RawStore
from analytics_pipeline.privacy.pseudonymize import Pseudonymizer


class PageLike(Protocol):
    @property
    def records(self) -> list[dict[str, Any]]: ...


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
        body: Mapping[str, Any] | None = None,
    ) -> Iterator[PageLike]: ...


CLAIM_NAME = ".fetch.lock"
"""Held, beside a partition, by a landing that skips landed partitions, from before its fetch until the
partition is published. Not the writer's ``.lock``: a writer takes that once the first page arrives,
too late to keep a second process from sending the same request meanwhile."""
SNAPSHOT_REUSE = dt.timedelta(hours=24)
"""How old a budget snapshot may be and still be written to historical days: confirmed by one request,
instead of read again in full."""
SNAPSHOT_PAIRS: tuple[tuple[str, str], ...] = tuple((r, p) for r in BUDGET_RESOURCES for p in BUDGET_PERIODS)
"""The (resource, period) queries that make a budget snapshot."""
Snapshot = list[tuple[list[dict[str, Any]], dict[str, str]]]
"""A budget snapshot: each query's records, with the resource and period it asked for."""


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@contextlib.contextmanager
def _answer_for(where: str) -> Iterator[None]:
    """Name the day or window of the answer a record error was found in (the records layer sees a page)."""
    try:
        yield
    except RecordError as exc:
        raise exc.at(where) from None


def month_is_current(store: RawStore, endpoint: Endpoint, month: dt.date, today: dt.date) -> bool:
    """A landed month whose fetch reached its last day, or yesterday: nothing newer can be had."""
    info = store.landed_info(endpoint, month)  # one read of the footer, not two
    if info is None:
        return False
    window_end = info.window_end
    return window_end in (month_end(month).isoformat(), yesterday(today).isoformat())


def partition_keys(endpoint: Endpoint, days: Sequence[dt.date]) -> list[dt.date]:
    """The raw partitions that hold ``days``: the days themselves, or their months' first days."""
    if endpoint.monthly:
        return sorted({month_start(d) for d in days})
    return sorted(set(days))


@dataclass
class LandingResult:
    """What one landing call did, for the asset's metadata."""

    endpoint: str
    partitions: list[PartitionInfo] = field(default_factory=list)
    requests: int = 0
    pages: int = 0
    quarantined: list[str] = field(default_factory=list)
    """Landed partitions found damaged, moved to the quarantine and fetched anew (their paths)."""

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.partitions)

    @property
    def unknown_fields(self) -> list[str]:
        return sorted({name for p in self.partitions for name in p.unknown_fields})

    @property
    def duplicates_collapsed(self) -> int:
        return sum(p.duplicates_collapsed for p in self.partitions)


class Lander:
    """Lands one endpoint's partitions through a client into a store."""

    def __init__(
        self,
        client: FetchingClient,
        store: RawStore,
        *,
        clock: Callable[[], dt.datetime] = _utc_now,
        today: Callable[[], dt.date] = utc_today,
        pseudonymizer: Pseudonymizer | None = None,
    ) -> None:
        self.client = client
        self.store = store
        self.clock = clock
        self.today = today
        self.pseudonymizer = pseudonymizer

    def land(
        self, endpoint: Endpoint, days: Sequence[dt.date], *, skip_landed: bool = False
    ) -> LandingResult:
        """Fetch and land ``endpoint`` for ``days``; each partition is replaced atomically."""
        result = LandingResult(endpoint.name)
        quarantined_before = len(self.store.quarantined)
        try:
            self._land(endpoint, days, skip_landed, result)
        finally:
            result.quarantined = [
                self.store.url_of(d.path) for d in self.store.quarantined[quarantined_before:] if d.path
            ]
        return result

    def _land(
        self, endpoint: Endpoint, days: Sequence[dt.date], skip_landed: bool, result: LandingResult
    ) -> None:
        self.store.remove_stale_temporaries(endpoint)
        if endpoint.monthly:
            for month in reversed(partition_keys(endpoint, days)):
                with self._claimed(endpoint, [month], skip_landed):
                    if not (skip_landed and self._month_complete(endpoint, month)):
                        self._land_month(endpoint, month, result)
            return
        if skip_landed:  # a damaged partition is quarantined here, and fetched again
            days = [d for d in days if not self.store.exists(endpoint, d)]
        if not days:
            return
        if endpoint.shape is Shape.SNAPSHOT:  # not claimed: each run may take its own snapshot
            self._land_snapshot(endpoint, days, result)
        elif endpoint.shape is Shape.RANGE and endpoint.record_date_field:
            for start, end in contiguous_windows(days):
                with self._claimed(endpoint, days_between(start, end), skip_landed) as todo:
                    for lo, hi in contiguous_windows(todo):
                        self._land_window(endpoint, lo, hi, result)
        elif endpoint.shape in (Shape.RANGE, Shape.DAY):
            for day in sorted(set(days), reverse=True):
                with self._claimed(endpoint, [day], skip_landed) as todo:
                    if todo:
                        self._land_day(endpoint, day, result)
        else:
            raise ValueError(f"{endpoint.name} is not a landed endpoint")

    @contextlib.contextmanager
    def _claimed(
        self, endpoint: Endpoint, keys: Sequence[dt.date], skip_landed: bool
    ) -> Iterator[list[dt.date]]:
        """With ``skip_landed``, hold the partitions' claims (waiting for another process's fetch of
        them to end), and give the keys still not landed then; else give every key at once."""
        if not skip_landed:
            yield list(keys)
            return
        with contextlib.ExitStack() as stack:
            # One order for every process, so two claiming overlapping windows never wait on each other.
            # No time limit: the holder's fetch is bounded (deadlines, retry budgets), and a holder that
            # dies releases its claims with its process.
            for key in sorted(set(keys)):
                stack.enter_context(self.store.lock(endpoint, key, CLAIM_NAME))
            yield [k for k in keys if not self.store.exists(endpoint, k)]

    def _fetch(
        self, endpoint: Endpoint, result: LandingResult, **query: Any
    ) -> Iterator[list[dict[str, Any]]]:
        """Each page's records, pseudonymised when asked (the one place records enter landing)."""
        before = self.client.requests_sent
        try:
            for page in self.client.fetch(endpoint, **query):
                result.pages += 1
                if self.pseudonymizer is None:
                    yield page.records
                else:
                    yield [self.pseudonymizer.record(r) for r in page.records]
        finally:
            result.requests += self.client.requests_sent - before

    def _publish(
        self,
        writers: dict[dt.date, PartitionWriter],
        result: LandingResult,
        requests: int,
        pages: int,
        window: tuple[dt.date, dt.date] | None,
        fetched_at: str | None = None,
    ) -> None:
        fetched_at = fetched_at or self.clock().isoformat()
        newest = max(writers)
        for writer in writers.values():  # all before any is published: a conflict lands no day of them
            writer.collapse_duplicates()
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
        with contextlib.ExitStack() as stack, _answer_for(f"{start}..{end}"):
            writers = {
                day: stack.enter_context(self.store.writer(endpoint, day))
                for day in (start + dt.timedelta(days=i) for i in range((end - start).days + 1))
            }
            for records in self._fetch(endpoint, result, start=start, end=end):
                by_day: dict[dt.date, list[dict[str, Any]]] = {}
                for record in records:
                    try:
                        day = dt.date.fromisoformat(record[date_field])
                    except (KeyError, TypeError, ValueError):
                        # Field names, not the record: errors reach logs, and a record names a person.
                        value = record.get(date_field)
                        got = f"a {type(value).__name__}" if "@" in str(value) else repr(str(value)[:40])
                        fields = ", ".join(sorted(record))[:200]
                        raise RecordError(
                            endpoint.name,
                            f"record without a valid {date_field!r} (got {got}; fields: {fields})",
                        ) from None
                    if day not in writers:
                        raise RecordError(
                            endpoint.name, f"a record's {date_field!r} is {day}, outside {start}..{end}"
                        )
                    by_day.setdefault(day, []).append(record)
                for day, records in by_day.items():
                    writers[day].write(records)
            self._publish(writers, result, result.requests - requests, result.pages - pages, (start, end))

    def _land_day(self, endpoint: Endpoint, day: dt.date, result: LandingResult) -> None:
        requests, pages = result.requests, result.pages
        query = {"start": day, "end": day} if endpoint.shape is Shape.RANGE else {"day": day}
        with self.store.writer(endpoint, day) as writer, _answer_for(day.isoformat()):
            for records in self._fetch(endpoint, result, **query):
                writer.write(records)
            self._publish({day: writer}, result, result.requests - requests, result.pages - pages, None)

    def _month_complete(self, endpoint: Endpoint, month: dt.date) -> bool:
        return month_is_current(self.store, endpoint, month, self.today())

    def _land_month(self, endpoint: Endpoint, month: dt.date, result: LandingResult) -> None:
        """The whole calendar month as the API sums it, clamped to what the API serves today."""
        window = monthly_range(month, self.today())
        if window is None:
            return
        start, end = window
        requests, pages = result.requests, result.pages
        with self.store.writer(endpoint, month) as writer, _answer_for(f"{start}..{end}"):
            for records in self._fetch(endpoint, result, start=start, end=end):
                writer.write(records)
            self._publish(
                {month: writer}, result, result.requests - requests, result.pages - pages, (start, end)
            )

    def _reusable_snapshot(self, endpoint: Endpoint, days: Sequence[dt.date]) -> tuple[Snapshot, str] | None:
        """The newest landed snapshot, when it is under a day old and newer than every day asked."""
        landed = self.store.landed_days(endpoint)
        if not landed or max(days) >= landed[-1]:
            return None
        try:
            info = self.store.info(endpoint, landed[-1])
            age = self.clock() - dt.datetime.fromisoformat(info.fetched_at) if info.fetched_at else None
            if age is None or age > SNAPSHOT_REUSE:
                return None
            table = self.store.read(endpoint, landed[-1])
        except DamagedPartition:
            return None  # quarantined: read the snapshot anew
        snapshot: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for row in table.to_pylist():
            key = (row["resource"], row["period"])
            snapshot.setdefault(key, []).append(json.loads(row["raw_json"]))
        pairs = [(records, {"resource": r, "period": p}) for (r, p), records in snapshot.items()]
        return pairs, info.fetched_at

    def _read_snapshot(
        self, endpoint: Endpoint, result: LandingResult, pairs: Sequence[tuple[str, str]]
    ) -> Snapshot:
        """The overrides of each (resource, period) in ``pairs``, one request each."""
        snapshot: Snapshot = []
        for resource, period in pairs:
            defaults = {"resource": resource, "period": period}
            for records in self._fetch(endpoint, result, body=dict(defaults)):
                snapshot.append((records, defaults))
        return snapshot

    def _confirmed(
        self, endpoint: Endpoint, snapshot: Snapshot, fetched_at: str, result: LandingResult
    ) -> tuple[Snapshot, str | None]:
        """A landed snapshot confirmed by reading its first (resource, period) again: one request proves
        the token still works (a 403 lands nothing) and that the snapshot still holds; when it does not,
        the rest is read again too, and the snapshot is the new one (its time None: now)."""
        first, *rest = SNAPSHOT_PAIRS
        fresh = self._read_snapshot(endpoint, result, [first])
        defaults = {"resource": first[0], "period": first[1]}
        stored = [record for records, given in snapshot if given == defaults for record in records]
        if records_digest(r for records, _ in fresh for r in records) == records_digest(stored):
            return snapshot, fetched_at
        return fresh + self._read_snapshot(endpoint, result, rest), None

    def _land_snapshot(self, endpoint: Endpoint, days: Sequence[dt.date], result: LandingResult) -> None:
        fetched_at: str | None = None
        reused = self._reusable_snapshot(endpoint, days)
        if reused:
            snapshot, fetched_at = self._confirmed(endpoint, *reused, result)
        else:
            snapshot = self._read_snapshot(endpoint, result, SNAPSHOT_PAIRS)
        fetched_at = fetched_at or self.clock().isoformat()
        newest = max(days)
        # One partition at a time: a backfill's run copies the snapshot to months of days, which side by
        # side would be as many open files, locks and Parquet writers.
        for day in sorted(set(days), reverse=True):
            requests, pages = (result.requests, result.pages) if day == newest else (0, 0)
            with self.store.writer(endpoint, day) as writer, _answer_for("snapshot"):
                for records, defaults in snapshot:
                    writer.write(records, defaults)
                self._publish({day: writer}, result, requests, pages, None, fetched_at)
