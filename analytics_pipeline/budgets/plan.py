"""What the file asks for, resolved against the members and the overrides in force, and the difference.

A default applies to every member without an override of their own for its resource and period: the
people of ``dim_users`` and whoever holds an override now. An override in force that the file neither
lists nor covers by a default is to be removed. The API only creates and updates overrides
(``set-user-budget-overrides``), so a removal is planned and shown, and left to Augment's console.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from analytics_pipeline.budgets.budget_file import BudgetFile
from analytics_pipeline.budgets.limits import Key


class Action(enum.StrEnum):
    ADD = "add"
    CHANGE = "change"
    REMOVE = "remove"
    UNCHANGED = "unchanged"


SENT: frozenset[Action] = frozenset({Action.ADD, Action.CHANGE})
"""What ``set-user-budget-overrides`` can do."""


@dataclass(frozen=True)
class Change:
    """One override: as it is (``old``), as the file wants it (``new``), and what that takes."""

    key: Key
    action: Action
    old: Decimal | None
    new: Decimal | None


@dataclass(frozen=True)
class BudgetPlan:
    """Every override the file or the API names, in order of member, resource and period."""

    changes: list[Change]

    def counts(self) -> dict[Action, int]:
        counted = Counter(c.action for c in self.changes)
        return {action: counted[action] for action in Action}

    @property
    def differs(self) -> bool:
        """Whether applying would change anything, or something differs that it cannot change."""
        return any(c.action is not Action.UNCHANGED for c in self.changes)

    @property
    def to_send(self) -> list[Change]:
        return [c for c in self.changes if c.action in SENT]

    @property
    def removals(self) -> list[Change]:
        return [c for c in self.changes if c.action is Action.REMOVE]


def desired_overrides(
    wanted: BudgetFile, members: Iterable[str], current: Mapping[Key, Decimal]
) -> dict[Key, Decimal]:
    """The overrides the file asks for: its own, then its defaults for everyone else of ``members`` and
    of the holders of an override now."""
    desired = dict(wanted.budgets)
    everyone = set(members) | {key.user_email for key in current}
    for (resource, period), limit in wanted.defaults.items():
        for email in everyone:
            desired.setdefault(Key(email, resource, period), limit)
    return desired


def budget_plan(desired: Mapping[Key, Decimal], current: Mapping[Key, Decimal]) -> BudgetPlan:
    """The difference between the overrides in force and those desired."""
    changes = []
    for key in sorted(set(desired) | set(current)):
        old, new = current.get(key), desired.get(key)
        if new is None:
            action = Action.REMOVE
        elif old is None:
            action = Action.ADD
        elif old != new:
            action = Action.CHANGE
        else:
            action = Action.UNCHANGED
        changes.append(Change(key, action, old, new))
    return BudgetPlan(changes)
