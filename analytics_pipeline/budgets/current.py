"""The overrides in force, read from the API: one request per (resource, period)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Protocol

from analytics_pipeline.api.errors import MalformedResponse
from analytics_pipeline.api.records import BudgetOverrideRecord
from analytics_pipeline.budgets.limits import Key
from analytics_pipeline.landing.land import SNAPSHOT_PAIRS


class OverridesReader(Protocol):
    def get_user_budget_overrides(
        self, *, resource: str, period: str = ..., user_emails: list[str] | None = ...
    ) -> list[BudgetOverrideRecord]: ...


def read_overrides(client: OverridesReader) -> dict[Key, Decimal]:
    """Every explicit override the API holds now, by member, resource and period."""
    current: dict[Key, Decimal] = {}
    for resource, period in SNAPSHOT_PAIRS:
        for record in client.get_user_budget_overrides(resource=resource, period=period):
            key, limit = _override(record, resource, period)
            current[key] = limit
    return current


def _override(record: BudgetOverrideRecord, resource: str, period: str) -> tuple[Key, Decimal]:
    """An API record as a key and limit; the record's own resource and period win when it has them."""
    email = record.get("user_email")
    config = record.get("config")
    limit = config.get("limit") if isinstance(config, dict) else None
    # The field names only: an email must not reach an error message unasked.
    if not isinstance(email, str) or not email:
        raise MalformedResponse("an override has no user_email", endpoint="budget_overrides")
    value = _api_limit(limit)
    if value is None:
        raise MalformedResponse(
            "an override's config.limit is not a decimal of 0 or more", endpoint="budget_overrides"
        )
    raw = dict(record)
    return Key(email, str(raw.get("resource") or resource), str(raw.get("period") or period)), value


def _api_limit(limit: object) -> Decimal | None:
    """The API's limit as sent (any precision: the file's rules are the file's), None if it is none."""
    if isinstance(limit, bool) or not isinstance(limit, (str, int, float)):
        return None
    try:
        value = Decimal(str(limit).strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() and value >= 0 else None
