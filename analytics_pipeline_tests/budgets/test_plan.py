"""The file resolved against the members and the overrides in force, and the difference."""

from __future__ import annotations

from decimal import Decimal

from analytics_pipeline.budgets.budget_file import BudgetFile
from analytics_pipeline.budgets.limits import Key
from analytics_pipeline.budgets.plan import Action, budget_plan, desired_overrides
from analytics_pipeline.budgets.table import plan_summary, plan_table
from analytics_pipeline.budgets.usage import Use

CREDITS = "BUDGET_RESOURCE_CREDITS_CONSUMED"
USD = "BUDGET_RESOURCE_USD_COST"
MONTHLY = "BUDGET_PERIOD_MONTHLY"


def key(email: str, resource: str = CREDITS) -> Key:
    return Key(email, resource, MONTHLY)


CURRENT = {key("kept@x.io"): Decimal(10), key("changed@x.io"): Decimal(10), key("gone@x.io"): Decimal(10)}


def test_add_change_remove_unchanged() -> None:
    wanted = BudgetFile(
        {key("kept@x.io"): Decimal("10.0"), key("changed@x.io"): Decimal(20), key("new@x.io"): Decimal(5)}, {}
    )
    plan = budget_plan(desired_overrides(wanted, ["idle@x.io"], CURRENT), CURRENT)
    assert [(c.key.user_email, c.action, c.old, c.new) for c in plan.changes] == [
        ("changed@x.io", Action.CHANGE, 10, 20),
        ("gone@x.io", Action.REMOVE, 10, None),
        ("kept@x.io", Action.UNCHANGED, 10, 10),
        ("new@x.io", Action.ADD, None, 5),
    ]
    assert [c.key.user_email for c in plan.to_send] == ["changed@x.io", "new@x.io"]
    assert plan.differs
    assert plan_summary(plan) == "1 to add, 1 to change, 1 to remove, 1 unchanged."


def test_a_default_covers_the_members_and_holders_without_their_own() -> None:
    wanted = BudgetFile({key("own@x.io"): Decimal(1)}, {(CREDITS, MONTHLY): Decimal(7)})
    desired = desired_overrides(wanted, ["own@x.io", "idle@x.io"], CURRENT)
    assert desired == {
        key("own@x.io"): 1,
        key("idle@x.io"): 7,
        key("kept@x.io"): 7,
        key("changed@x.io"): 7,
        key("gone@x.io"): 7,
    }
    assert not any(c.action is Action.REMOVE for c in budget_plan(desired, CURRENT).changes)


def test_the_same_file_twice_differs_in_nothing() -> None:
    plan = budget_plan(dict(CURRENT), CURRENT)
    assert not plan.differs and plan.to_send == [] and plan.removals == []


def test_the_table_shows_each_members_use() -> None:
    wanted = BudgetFile({key("kept@x.io"): Decimal(10), key("new@x.io"): Decimal("2.5")}, {})
    current = {key("kept@x.io"): Decimal(10)}
    plan = budget_plan(desired_overrides(wanted, [], current), current)
    use = {key("stored:kept@x.io"): Use(92.25, 1234.5)}
    lines = plan_table(plan, use, lambda email: f"stored:{email}")
    assert lines[0].split() == [
        "action",
        "member",
        "resource",
        "period",
        "current",
        "desired",
        "%",
        "used",
        "projected",
        "month-end",
    ]
    assert lines[1].split() == [
        "unchanged",
        "kept@x.io",
        "CREDITS_CONSUMED",
        "MONTHLY",
        "10",
        "10",
        "92.2%",
        "1,234.5",
    ]
    assert lines[2].split() == ["add", "new@x.io", "CREDITS_CONSUMED", "MONTHLY", "-", "2.5", "-", "-"]
    assert len({len(line) for line in lines[:2]}) == 1  # aligned columns


def test_the_overrides_in_force_as_the_api_sends_them() -> None:
    from typing import Any

    import pytest

    from analytics_pipeline.api.errors import MalformedResponse
    from analytics_pipeline.budgets.current import read_overrides

    class Reader:
        def __init__(self, records: list[dict[str, Any]]) -> None:
            self.records = records
            self.asked: list[tuple[str, str]] = []

        def get_user_budget_overrides(
            self, *, resource: str, period: str = MONTHLY, user_emails: Any = None
        ) -> Any:
            self.asked.append((resource, period))
            return self.records if resource == CREDITS else []

    reader = Reader(
        [
            {"user_email": "a@x.io", "config": {"limit": "2500000"}},
            {
                "user_email": "b@x.io",
                "resource": CREDITS,
                "period": MONTHLY,
                "config": {"limit": "0.123456789"},
            },
        ]
    )
    assert read_overrides(reader) == {key("a@x.io"): Decimal(2500000), key("b@x.io"): Decimal("0.123456789")}
    assert reader.asked == [(CREDITS, MONTHLY), (USD, MONTHLY)]
    for bad in (
        {"config": {"limit": "1"}},
        {"user_email": "a@x.io", "config": {"limit": "-1"}},
        {"user_email": "a@x.io"},
    ):
        with pytest.raises(MalformedResponse) as caught:
            read_overrides(Reader([bad]))
        assert "a@x.io" not in str(caught.value)
