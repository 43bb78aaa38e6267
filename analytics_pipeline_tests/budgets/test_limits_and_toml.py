"""Limits as the API writes them, and the exported file read back unchanged."""

from __future__ import annotations

import tomllib
from decimal import Decimal

import pytest

from analytics_pipeline.budgets.budget_file import parse_budget_file
from analytics_pipeline.budgets.limits import Key, limit_text, parse_limit
from analytics_pipeline.budgets.toml_out import budgets_toml, toml_string

CREDITS = "BUDGET_RESOURCE_CREDITS_CONSUMED"
USD = "BUDGET_RESOURCE_USD_COST"
MONTHLY = "BUDGET_PERIOD_MONTHLY"


@pytest.mark.parametrize(
    ("given", "text"),
    [
        ("2500000", "2500000"),
        (2500000, "2500000"),
        ("2500000.000", "2500000"),
        ("12.50", "12.5"),
        (0.1, "0.1"),
        ("-0", "0"),
        ("0E+2", "0"),
        ("1E+3", "1000"),
    ],
)
def test_limit_text(given: object, text: str) -> None:
    assert limit_text(parse_limit(given)) == text


@pytest.mark.parametrize(
    "value",
    ["plain", 'a "quoted" one', "back\\slash", "tab\there", "new\nline", "bell\x07", "del\x7f", "é☃𝄞"],
)
def test_toml_strings_read_back(value: str) -> None:
    assert tomllib.loads(f"x = {toml_string(value)}")["x"] == value


def test_an_exported_file_reads_back_as_the_overrides() -> None:
    overrides = {
        Key("b@example.com", USD, MONTHLY): Decimal("12.5"),
        Key("a@example.com", CREDITS, MONTHLY): Decimal(2500000),
        Key('odd"name\\@example.com', CREDITS, MONTHLY): Decimal(0),
    }
    text = budgets_toml(overrides, "budgets.toml")
    assert text.startswith("# Per-user budget overrides")
    parsed = parse_budget_file(text, "budgets.toml")
    assert parsed.budgets == overrides and parsed.defaults == {}
    assert text.index("a@example.com") < text.index("b@example.com")  # sorted: diffs stay small


def test_no_overrides_is_a_file_with_only_its_header() -> None:
    parsed = parse_budget_file(budgets_toml({}, "budgets.toml"), "budgets.toml")
    assert parsed.budgets == {}
