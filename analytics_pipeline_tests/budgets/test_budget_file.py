"""The budgets file: what it accepts, and a one-line reason for everything it refuses."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from analytics_pipeline.budgets.budget_file import BudgetFileError, parse_budget_file, read_budget_file
from analytics_pipeline.budgets.limits import Key
from analytics_pipeline.config.settings import ConfigError
from analytics_pipeline.errors import FIX_INPUT

CREDITS = "BUDGET_RESOURCE_CREDITS_CONSUMED"
USD = "BUDGET_RESOURCE_USD_COST"
MONTHLY = "BUDGET_PERIOD_MONTHLY"


def entry(email: str = "a@example.com", limit: str = '"10"', **more: str) -> str:
    lines = [f'user_email = "{email}"', f'resource = "{more.pop("resource", CREDITS)}"', f"limit = {limit}"]
    lines += [f"{key} = {value}" for key, value in more.items()]
    return "[[budget]]\n" + "\n".join(lines) + "\n"


def test_entries_and_defaults() -> None:
    text = (
        entry(limit="2500000")
        + entry("b@example.com", '"12.5"', period=f'"{MONTHLY}"', resource=USD)
        + f'[[default]]\nresource = "{CREDITS}"\nlimit = 1e6\n'
    )
    parsed = parse_budget_file(text, "b.toml")
    assert parsed.budgets == {
        Key("a@example.com", CREDITS, MONTHLY): Decimal(2500000),
        Key("b@example.com", USD, MONTHLY): Decimal("12.5"),
    }
    assert parsed.defaults == {(CREDITS, MONTHLY): Decimal(1000000)}


def test_an_empty_file_asks_for_nothing() -> None:
    parsed = parse_budget_file("# nothing yet\n", "b.toml")
    assert (parsed.budgets, parsed.defaults) == ({}, {})


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[[budget]\n", "b.toml: not valid TOML"),
        ("title = 'x'\n", "unknown key 'title'"),
        ("budget = 3\n", "must be an array of tables"),
        (entry(limit='"-1"'), "[[budget]] 1: limit '-1' is negative"),
        (entry(limit="-0.5"), "limit -0.5 is negative"),
        (entry(limit='"ten"'), "limit 'ten' is not a number"),
        (entry(limit="true"), "limit must be a number or a decimal string"),
        (entry(limit="nan"), "is not a finite number"),
        (entry(limit='"1.0000001"'), "more than 6 decimal places"),
        (entry(limit='"1' + "0" * 20 + '"'), "more than 20 digits"),
        (entry(resource="CREDITS"), "resource 'CREDITS' is not one of BUDGET_RESOURCE_CREDITS_CONSUMED"),
        (entry(period='"BUDGET_PERIOD_DAILY"'), "period 'BUDGET_PERIOD_DAILY' is not one of"),
        (entry("not-an-email"), "user_email 'not-an-email' is not an email address"),
        ("[[budget]]\nresource = 'x'\n", "user_email is missing"),
        (entry(colour='"red"'), "unknown key 'colour'"),
        (
            entry() + entry(limit='"20"'),
            "[[budget]] 2: a@example.com CREDITS_CONSUMED MONTHLY is given twice",
        ),
        (f'[[default]]\nresource = "{USD}"\n', "[[default]] 1: limit is missing"),
        (f'[[default]]\nresource = "{USD}"\nlimit = 1\n' * 2, "[[default]] 2: a default for"),
        (
            f'[[default]]\nuser_email = "a@example.com"\nresource = "{USD}"\nlimit = 1\n',
            "unknown key 'user_email'",
        ),
    ],
)
def test_bad_files_are_one_line(text: str, fragment: str) -> None:
    with pytest.raises(BudgetFileError) as caught:
        parse_budget_file(text, "b.toml")
    message = str(caught.value)
    assert fragment in message
    assert "\n" not in message and message.startswith("b.toml")
    assert isinstance(caught.value, ConfigError) and caught.value.exit_code == FIX_INPUT


def test_a_missing_file_says_how_to_start(tmp_path: Path) -> None:
    with pytest.raises(BudgetFileError, match="no such file; write one, or start from `budgets export`"):
        read_budget_file(tmp_path / "budgets.toml")


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "budgets.toml"
    path.write_bytes(b"\xff\xfe[[budget]]")
    with pytest.raises(BudgetFileError, match="not UTF-8"):
        read_budget_file(path)
