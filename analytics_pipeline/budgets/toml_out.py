"""The budgets file written out (``budgets export``), readable again by :mod:`.budget_file`.

Written by hand: the standard library reads TOML but does not write it, and the file is a list of flat
tables with four known keys, so only its string values need care (:func:`toml_string`).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from analytics_pipeline.budgets.budget_file import BUDGET_TABLE
from analytics_pipeline.budgets.limits import Key, limit_text

HEADER = """\
# Per-user budget overrides: `analytics-pipeline budgets plan --file {name}` shows what applying it would
# change, `budgets apply --file {name}` changes it. Each [[budget]] is one member's limit for a resource
# (BUDGET_RESOURCE_CREDITS_CONSUMED or BUDGET_RESOURCE_USD_COST) over a period (BUDGET_PERIOD_MONTHLY).
# A [[default]] (resource, period, limit) gives every member without an entry of their own that limit.
"""


def toml_string(value: str) -> str:
    """``value`` as a TOML basic string: quotes, backslashes and control characters escaped."""
    out = ['"']
    for char in value:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char != "\t" and (ord(char) < 0x20 or ord(char) == 0x7F):
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def budgets_toml(overrides: Mapping[Key, Decimal], name: str) -> str:
    """The text of a budgets file holding ``overrides`` (sorted by member, resource, period); ``name`` is
    the file's name, for the header's example commands."""
    parts = [HEADER.format(name=name)]
    for key in sorted(overrides):
        parts.append(
            f"\n[[{BUDGET_TABLE}]]\n"
            f"user_email = {toml_string(key.user_email)}\n"
            f"resource = {toml_string(key.resource)}\n"
            f"period = {toml_string(key.period)}\n"
            f"limit = {toml_string(limit_text(overrides[key]))}\n"
        )
    return "".join(parts)
