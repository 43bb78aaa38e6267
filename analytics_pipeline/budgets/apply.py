"""The plan's changes sent through ``set-user-budget-overrides``: one request each, through the client's
one rate limiter and retry policy, each outcome handed on as it happens (to be recorded at once).

One change a request, although the endpoint takes a batch: the outcome of each change is then its own,
so a run cut short says exactly what was applied, and running again sends only the rest. Setting a
value is idempotent, so the client's retries are safe.

- The API refuses a change (400): it is ``failed``, and the next is sent (they are independent).
- The token is refused (401, 403) or the URL is wrong (404): ``failed``, and nothing more is sent.
- No answer, or a server error, after every retry: ``unconfirmed`` (the write may have landed), and
  nothing more is sent: the service is not taking writes now.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from analytics_pipeline.api.errors import ApiError, Forbidden, InvalidRequest, NotFound, Unauthorized
from analytics_pipeline.budgets.limits import limit_text
from analytics_pipeline.budgets.plan import Change


class Outcome(enum.StrEnum):
    APPLIED = "applied"
    FAILED = "failed"
    UNCONFIRMED = "unconfirmed"


@dataclass(frozen=True)
class Sent:
    """One change sent, and what came of it."""

    change: Change
    outcome: Outcome
    error: str | None
    """Why it failed or is unconfirmed, in one line (the client's errors never hold the token)."""
    at: dt.datetime


@dataclass
class ApplyResult:
    sent: list[Sent] = field(default_factory=list)
    not_sent: list[Change] = field(default_factory=list)
    """Changes left after a failure that stopped the run."""

    def count(self, outcome: Outcome) -> int:
        return sum(1 for s in self.sent if s.outcome is outcome)

    @property
    def complete(self) -> bool:
        return not self.not_sent and all(s.outcome is Outcome.APPLIED for s in self.sent)


class OverridesWriter(Protocol):
    def set_user_budget_overrides(self, overrides: list[dict[str, Any]]) -> dict[str, Any]: ...


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def override_body(change: Change) -> dict[str, Any]:
    """A change as ``set-user-budget-overrides`` takes it."""
    assert change.new is not None, "only adds and changes are sent"
    key = change.key
    return {
        "user_email": key.user_email,
        "resource": key.resource,
        "period": key.period,
        "config": {"limit": limit_text(change.new)},
    }


def apply_changes(
    client: OverridesWriter,
    changes: Sequence[Change],
    *,
    record: Callable[[Sent], None],
    clock: Callable[[], dt.datetime] = _now,
) -> ApplyResult:
    """Send ``changes`` in order; ``record`` is called with each outcome before the next is sent."""
    result = ApplyResult()
    for index, change in enumerate(changes):
        at = clock()
        try:
            client.set_user_budget_overrides([override_body(change)])
        except ApiError as exc:
            stops = not isinstance(exc, InvalidRequest)
            refused = isinstance(exc, (InvalidRequest, Unauthorized, Forbidden, NotFound))
            sent = Sent(
                change, Outcome.FAILED if refused else Outcome.UNCONFIRMED, " ".join(str(exc).split()), at
            )
        else:
            stops, sent = False, Sent(change, Outcome.APPLIED, None, at)
        record(sent)
        result.sent.append(sent)
        if stops:
            result.not_sent = list(changes[index + 1 :])
            break
    return result
