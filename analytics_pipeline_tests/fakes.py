"""A scripted stand-in for the API client, for landing and warehouse unit tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from analytics_pipeline.api.endpoints import METRICS, Endpoint
from analytics_pipeline.dates import days_between


@dataclass
class FakePage:
    records: list[dict[str, Any]]


def metrics(value: int = 1) -> dict[str, int]:
    return dict.fromkeys(METRICS, value)


def default_records(endpoint: Endpoint, start: dt.date, end: dt.date) -> list[dict[str, Any]]:
    """Two identities a day, one of them a service account; a record per day for range endpoints."""
    people = [{"user_email": "ada@example.com"}, {"service_account_name": "ci-bot"}]
    days = days_between(start, end)
    match endpoint.name:
        case "dau_count":
            return [{"date": d.isoformat(), "user_count": 2} for d in days]
        case "daily_usage":
            return [{"date": d.isoformat(), "metrics": metrics(2)} for d in days]
        case "credit_usage":
            return [
                {**p, "date": d.isoformat(), "model_name": "claude-sonnet-4-5", "credits_consumed": 10}
                for d in days
                for p in people
            ]
        case "dau":
            return people
        case "user_activity" | "user_activity_monthly":
            return [{**p, "active_days": len(days), "metrics": metrics(len(days))} for p in people]
        case "editor_language":
            return [{**p, "language": "Go", "editor": "Vim", "metrics": metrics()} for p in people]
        case "budget_overrides":
            return [{"user_email": "ada@example.com", "config": {"limit": "2500000"}}]
    raise AssertionError(endpoint.name)


@dataclass
class FakeClient:
    """Answers ``fetch`` from a records function, ``page_size`` records a page, counting requests."""

    records: Callable[[Endpoint, dt.date, dt.date], list[dict[str, Any]]] = default_records
    page_size: int = 1
    fail_after_pages: int | None = None
    requests_sent: int = 0
    calls: list[tuple[str, Any]] = field(default_factory=list)

    def fetch(
        self,
        endpoint: Endpoint,
        *,
        start: dt.date | None = None,
        end: dt.date | None = None,
        day: dt.date | None = None,
        body: dict[str, Any] | None = None,
    ) -> Iterator[FakePage]:
        self.calls.append((endpoint.name, body or (day,) if day else (start, end)))
        lo = day or start or dt.date(2026, 1, 1)
        hi = day or end or lo
        records = self.records(endpoint, lo, hi)
        for number, offset in enumerate(range(0, max(len(records), 1), self.page_size)):
            if self.fail_after_pages is not None and number >= self.fail_after_pages:
                raise ConnectionError("connection dropped")
            self.requests_sent += 1
            yield FakePage(records[offset : offset + self.page_size])
