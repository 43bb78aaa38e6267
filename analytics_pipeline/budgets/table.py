"""The plan as a text table: every override, what would change, and the member's use of it this month."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal

from analytics_pipeline.budgets.limits import Key, limit_text, short
from analytics_pipeline.budgets.plan import Action, BudgetPlan
from analytics_pipeline.budgets.usage import Use

HEADINGS = ("action", "member", "resource", "period", "current", "desired", "% used", "projected month-end")
NUMERIC = frozenset({"current", "desired", "% used", "projected month-end"})
NONE = "-"


def _limit(value: Decimal | None) -> str:
    return NONE if value is None else limit_text(value)


def _number(value: float | None, suffix: str = "") -> str:
    return NONE if value is None else f"{value:,.1f}{suffix}"


def plan_table(plan: BudgetPlan, use: Mapping[Key, Use], stored: Callable[[str], str]) -> list[str]:
    """The plan's lines, columns aligned; ``use`` is keyed by the member as the warehouse stores them
    (``stored``: the email, or its pseudonym)."""
    rows = [HEADINGS]
    for change in plan.changes:
        key = change.key
        member_use = use.get(Key(stored(key.user_email), key.resource, key.period))
        rows.append(
            (
                change.action.value,
                key.user_email,
                short(key.resource),
                short(key.period),
                _limit(change.old),
                _limit(change.new),
                _number(member_use.percent_used if member_use else None, "%"),
                _number(member_use.projected_month_end if member_use else None),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADINGS))]
    return [
        "  ".join(
            cell.rjust(width) if HEADINGS[i] in NUMERIC else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]


def plan_summary(plan: BudgetPlan) -> str:
    """One line: how many of each action."""
    counts = plan.counts()
    return (
        f"{counts[Action.ADD]} to add, {counts[Action.CHANGE]} to change, {counts[Action.REMOVE]} to remove, "
        f"{counts[Action.UNCHANGED]} unchanged."
    )
