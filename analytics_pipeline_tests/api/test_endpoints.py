"""The endpoint table: every landed endpoint plays every role, and every list derived from it covers each
endpoint exactly once, so an endpoint added without one of its roles fails here, not silently later
(never fetched by a backfill, never re-checked, a request plan that blames the wrong cause)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

import pytest

from analytics_pipeline.api.endpoints import (
    ASSET_ENDPOINTS,
    BY_NAME,
    ENDPOINTS,
    LANDED,
    BackfillPhase,
    Endpoint,
    PlanCount,
    Recheck,
    Shape,
    daily_view,
)
from analytics_pipeline.backfill import estimate, estimate_live, steps
from analytics_pipeline.defs.checks import RULES
from analytics_pipeline.late_data import recheck
from analytics_pipeline.warehouse.load import DATE_COLUMN, GRAIN, fact_grain

ROLES = ("fact_table", "date_column", "grain", "backfill_phase", "recheck", "plan_count")
"""Every attribute of an :class:`Endpoint` that says what part it plays once landed."""

NOT_LANDED = [e for e in ENDPOINTS if e not in LANDED]


def names(endpoints: Iterable[Endpoint]) -> list[str]:
    return sorted(e.name for e in endpoints)


def once_each(*groups: Iterable[Endpoint]) -> bool:
    """Whether ``groups`` together hold every landed endpoint exactly once."""
    counts = Counter(e.name for group in groups for e in group)
    return sorted(counts) == names(ASSET_ENDPOINTS) and set(counts.values()) == {1}


@pytest.mark.parametrize("endpoint", ASSET_ENDPOINTS, ids=lambda e: e.name)
def test_every_landed_endpoint_has_every_role(endpoint: Endpoint) -> None:
    missing = [role for role in ROLES if not getattr(endpoint, role)]
    assert missing == [], f"{endpoint.name} has no {', '.join(missing)}: see docs/adding-an-endpoint.md"


@pytest.mark.parametrize("endpoint", NOT_LANDED, ids=lambda e: e.name)
def test_an_endpoint_never_landed_has_no_role(endpoint: Endpoint) -> None:
    # A role on an endpoint nothing lands would be ignored without a word.
    assert [role for role in ROLES if getattr(endpoint, role)] == []


def test_names_and_fact_tables_are_unique() -> None:
    every = [*ENDPOINTS, *(e for e in ASSET_ENDPOINTS if e not in ENDPOINTS)]
    assert sorted(BY_NAME) == names(every)  # no two share a name
    tables = [e.fact_table for e in ASSET_ENDPOINTS]
    assert len(set(tables)) == len(tables)


def test_backfill_phases_cover_every_endpoint_once() -> None:
    assert once_each(steps.COARSE, steps.CREDIT, steps.DETAIL)
    assert once_each(*(steps.in_phase(phase) for phase in BackfillPhase))


def test_recheck_roles_cover_every_endpoint_once() -> None:
    assert once_each(
        recheck.RANGE_ENDPOINTS,
        recheck.PER_DAY_ENDPOINTS,
        recheck.SNAPSHOT_ENDPOINTS,
        recheck.MONTHLY_ENDPOINTS,
    )


def test_the_plan_prices_every_endpoint_once() -> None:
    per_day = [e for e in ASSET_ENDPOINTS if e.name in estimate.RECORDS_PER_DAY]
    fixed = [e for e in ASSET_ENDPOINTS if e.plan_count is PlanCount.FIXED]
    monthly = [e for e in ASSET_ENDPOINTS if e.plan_count is PlanCount.MONTHLY_USERS]
    assert once_each(per_day, fixed, monthly)
    assert tuple(e.name for e in per_day) == estimate_live.COUNTED
    assert list(estimate.PLAN_ENDPOINTS) == [e.name for e in ASSET_ENDPOINTS]
    assert set(estimate.PLAN_ENDPOINTS) >= estimate_live.ESTIMATED
    assert estimate.MONTHLY in estimate_live.ESTIMATED


def test_every_fact_table_has_a_date_column_a_grain_and_check_rules() -> None:
    tables = sorted(e.fact_table for e in ASSET_ENDPOINTS if e.fact_table)
    assert sorted(DATE_COLUMN) == sorted(GRAIN) == tables
    assert sorted(r.table for r in RULES) == tables
    assert all(GRAIN[table][:2] == ("organization", DATE_COLUMN[table]) for table in tables)


def test_fact_grains_follow_the_record_grains() -> None:
    assert {e.name: fact_grain(e) for e in ASSET_ENDPOINTS} == {
        "dau_count": ("date",),
        "dau": ("date", "user_key"),
        "daily_usage": ("date",),
        "user_activity": ("date", "user_key"),
        "editor_language": ("date", "user_key", "language", "editor"),
        "credit_usage": ("date", "user_key", "model_name"),
        "budget_overrides": ("snapshot_date", "user_key", "resource", "period"),
        "user_activity_monthly": ("month", "user_key"),
    }


def test_check_rules_agree_with_the_endpoint_table() -> None:
    by_table = {e.fact_table: e for e in ASSET_ENDPOINTS}
    for rules in RULES:
        endpoint = by_table[rules.table]
        assert rules.monthly == endpoint.monthly, rules.table
        fields = {f.name for f in endpoint.fields}
        assert rules.has_completions == ({"completions_count", "completions_accepted"} <= fields), rules.table
        if rules.reconciliation:
            other = by_table[rules.reconciliation.other_table]
            assert rules.reconciliation.endpoints == (endpoint.name, other.name), rules.table


@pytest.mark.parametrize("endpoint", ASSET_ENDPOINTS, ids=lambda e: e.name)
def test_roles_agree_with_how_the_endpoint_is_queried(endpoint: Endpoint) -> None:
    """A role that contradicts the endpoint's shape would be planned, fetched or re-checked wrongly."""
    snapshot = endpoint.shape is Shape.SNAPSHOT
    assert snapshot == (endpoint.recheck is Recheck.IF_MISSING)
    if snapshot:
        assert endpoint.plan_count is PlanCount.FIXED and endpoint.backfill_phase is BackfillPhase.COARSE
    monthly = endpoint.monthly
    assert monthly == (endpoint.recheck is Recheck.MONTHS_OF_DAILY)
    assert monthly == (endpoint.plan_count is PlanCount.MONTHLY_USERS)
    if monthly:
        assert endpoint.backfill_phase is BackfillPhase.COARSE and endpoint.date_column == "month"
        assert daily_view(endpoint).recheck is Recheck.IF_CHANGED
    windowed = endpoint.shape is Shape.RANGE and endpoint.record_date_field is not None
    assert windowed == (endpoint.recheck is Recheck.BY_DIGEST)  # a digest per day of a window
    per_day = endpoint.shape in (Shape.RANGE, Shape.DAY) and not windowed and not monthly
    assert per_day == (endpoint.backfill_phase is BackfillPhase.DETAIL)
    assert per_day == (endpoint.recheck is Recheck.IF_CHANGED)
    if not (snapshot or monthly):
        # Paginated, its cost follows the day's records; unpaginated, one request per window.
        assert endpoint.paginated == (endpoint.name in estimate.RECORDS_PER_DAY)
