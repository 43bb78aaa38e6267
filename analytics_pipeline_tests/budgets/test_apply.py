"""Sending the changes: one request each, each outcome handed on at once, and where a failure stops."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from analytics_pipeline.api.errors import ApiError, Forbidden, InvalidRequest, ServerError, TransportError
from analytics_pipeline.budgets.apply import Outcome, Sent, apply_changes, override_body
from analytics_pipeline.budgets.audit import AuditTrail
from analytics_pipeline.budgets.limits import Key
from analytics_pipeline.budgets.plan import Action, Change
from analytics_pipeline.privacy.pseudonymize import Pseudonymizer
from analytics_pipeline.privacy.secret import Secret
from analytics_pipeline.warehouse import Warehouse

CREDITS = "BUDGET_RESOURCE_CREDITS_CONSUMED"
MONTHLY = "BUDGET_PERIOD_MONTHLY"
AT = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)


def change(email: str, new: str = "10", old: str | None = None) -> Change:
    return Change(
        Key(email, CREDITS, MONTHLY),
        Action.ADD if old is None else Action.CHANGE,
        None if old is None else Decimal(old),
        Decimal(new),
    )


class FakeWriter:
    """Answers each write in turn: None accepts it, an error is raised."""

    def __init__(self, *answers: ApiError | None) -> None:
        self.answers = list(answers)
        self.bodies: list[list[dict[str, Any]]] = []

    def set_user_budget_overrides(self, overrides: list[dict[str, Any]]) -> dict[str, Any]:
        self.bodies.append(overrides)
        answer = self.answers.pop(0)
        if answer is not None:
            raise answer
        return {"overrides": overrides}


def run(writer: FakeWriter, changes: list[Change]) -> tuple[list[Sent], Any]:
    recorded: list[Sent] = []
    result = apply_changes(writer, changes, record=recorded.append, clock=lambda: AT)
    return recorded, result


def test_each_change_is_its_own_request() -> None:
    writer = FakeWriter(None, None)
    recorded, result = run(writer, [change("a@x.io", "12.50"), change("b@x.io", "7", old="3")])
    assert writer.bodies == [
        [{"user_email": "a@x.io", "resource": CREDITS, "period": MONTHLY, "config": {"limit": "12.5"}}],
        [override_body(change("b@x.io", "7", old="3"))],
    ]
    assert [s.outcome for s in recorded] == [Outcome.APPLIED, Outcome.APPLIED]
    assert result.complete and result.sent == recorded


def test_a_refused_change_fails_and_the_next_is_sent() -> None:
    writer = FakeWriter(InvalidRequest("overrides[0].user_email is not a user", status=400), None)
    recorded, result = run(writer, [change("a@x.io"), change("b@x.io")])
    assert [s.outcome for s in recorded] == [Outcome.FAILED, Outcome.APPLIED]
    assert "HTTP 400" in (recorded[0].error or "")
    assert not result.complete and result.not_sent == []


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (ServerError("unavailable", status=503), Outcome.UNCONFIRMED),
        (TransportError("connection reset"), Outcome.UNCONFIRMED),
        (Forbidden("no permission", status=403), Outcome.FAILED),
    ],
)
def test_a_failure_of_the_service_stops_the_run(error: ApiError, outcome: Outcome) -> None:
    writer = FakeWriter(None, error)
    changes = [change("a@x.io"), change("b@x.io"), change("c@x.io")]
    recorded, result = run(writer, changes)
    assert [s.outcome for s in recorded] == [Outcome.APPLIED, outcome]
    assert result.not_sent == changes[2:]
    assert len(writer.bodies) == 2


def test_the_audit_trail_holds_pseudonyms_only(tmp_path: Any) -> None:
    pseudonymizer = Pseudonymizer(Secret("k" * 40))
    trail = AuditTrail("run-1", "acme", "ops", pseudonymizer)
    sent = Sent(change("alice@x.io", "5", old="4"), Outcome.FAILED, "HTTP 400: alice@x.io is not a user", AT)
    with Warehouse(tmp_path / "warehouse.duckdb").writer() as con:
        trail.record(con, sent)
        row = con.execute(
            "select run_id, user_key, user_email, action, old_limit::varchar, new_limit::varchar, outcome, "
            "error, changed_by, organization, changed_at from fct_budget_changes"
        ).fetchone()
    assert row is not None
    pseudonym = pseudonymizer.email("alice@x.io")
    assert row[:10] == (
        "run-1",
        pseudonym,
        pseudonym,
        "change",
        "4.000000",
        "5.000000",
        "failed",
        f"HTTP 400: {pseudonym} is not a user",
        "ops",
        "acme",
    )
    assert row[10] == AT
    assert "alice" not in repr(row)
