"""The budgets file: the overrides an organisation should have, read and checked before anything is sent.

::

    # Everyone in dim_users without an entry of their own for this resource gets this limit.
    [[default]]
    resource = "BUDGET_RESOURCE_CREDITS_CONSUMED"
    limit = "1000000"

    [[budget]]
    user_email = "alice@example.com"
    resource = "BUDGET_RESOURCE_CREDITS_CONSUMED"
    period = "BUDGET_PERIOD_MONTHLY"   # optional: the only period the API has
    limit = "2500000"                  # a decimal string, or a number

Every problem is one line naming the entry and what to fix (:class:`BudgetFileError`, exit code 2): a
file that is not TOML, an unknown key, an unknown resource or period, a limit that is negative or not a
number, the same member, resource and period twice.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from analytics_pipeline.budgets.limits import (
    DEFAULT_PERIOD,
    Key,
    limit_problem,
    parse_limit,
    period_problem,
    resource_problem,
)
from analytics_pipeline.config.settings import ConfigError

BUDGET_TABLE = "budget"
DEFAULT_TABLE = "default"
_BUDGET_KEYS = frozenset({"user_email", "resource", "period", "limit"})
_DEFAULT_KEYS = frozenset({"resource", "period", "limit"})


class BudgetFileError(ConfigError):
    """The budgets file cannot be used as it is (exit code 2, nothing sent)."""


@dataclass(frozen=True)
class BudgetFile:
    """What a budgets file asks for."""

    budgets: dict[Key, Decimal]
    """Each member's own overrides."""
    defaults: dict[tuple[str, str], Decimal]
    """(resource, period): the limit of every member without an override of their own for it."""


def read_budget_file(path: Path) -> BudgetFile:
    """The budgets file at ``path``, checked."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BudgetFileError(f"{path}: no such file; write one, or start from `budgets export`") from None
    except UnicodeDecodeError:
        raise BudgetFileError(f"{path}: not UTF-8 text; save it as UTF-8 TOML") from None
    return parse_budget_file(text, str(path))


def parse_budget_file(text: str, source: str) -> BudgetFile:
    """A budgets file's text, checked; ``source`` names it in errors."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BudgetFileError(f"{source}: not valid TOML ({exc}); fix the file") from None
    unknown = sorted(set(data) - {BUDGET_TABLE, DEFAULT_TABLE})
    if unknown:
        raise BudgetFileError(
            f"{source}: unknown key {unknown[0]!r}; a budgets file holds [[{BUDGET_TABLE}]] and "
            f"[[{DEFAULT_TABLE}]] tables only"
        )
    budgets: dict[Key, Decimal] = {}
    for number, entry in enumerate(_tables(data, BUDGET_TABLE, source), start=1):
        where = f"{source}: [[{BUDGET_TABLE}]] {number}"
        key, limit = _budget(entry, where)
        if key in budgets:
            raise BudgetFileError(f"{where}: {key.describe()} is given twice; keep one entry")
        budgets[key] = limit
    defaults: dict[tuple[str, str], Decimal] = {}
    for number, entry in enumerate(_tables(data, DEFAULT_TABLE, source), start=1):
        where = f"{source}: [[{DEFAULT_TABLE}]] {number}"
        _check_keys(entry, _DEFAULT_KEYS, where)
        pair = (_resource(entry, where), _period(entry, where))
        if pair in defaults:
            raise BudgetFileError(f"{where}: a default for {pair[0]} {pair[1]} is given twice; keep one")
        defaults[pair] = _limit(entry, where)
    return BudgetFile(budgets, defaults)


def _tables(data: Mapping[str, Any], name: str, source: str) -> list[Mapping[str, Any]]:
    tables = data.get(name, [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise BudgetFileError(f"{source}: {name!r} must be an array of tables, written [[{name}]]")
    return tables


def _budget(entry: Mapping[str, Any], where: str) -> tuple[Key, Decimal]:
    _check_keys(entry, _BUDGET_KEYS, where)
    email = entry.get("user_email")
    if not isinstance(email, str) or not email.strip():
        raise BudgetFileError(f"{where}: user_email is missing; name the member by email")
    email = email.strip()
    if "@" not in email or any(c.isspace() for c in email):
        raise BudgetFileError(f"{where}: user_email {email!r} is not an email address")
    return Key(email, _resource(entry, where), _period(entry, where)), _limit(entry, where)


def _check_keys(entry: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise BudgetFileError(f"{where}: unknown key {unknown[0]!r}; use {', '.join(sorted(allowed))}")


def _resource(entry: Mapping[str, Any], where: str) -> str:
    resource = entry.get("resource")
    problem = resource_problem(resource)
    if problem:
        raise BudgetFileError(f"{where}: {problem}")
    return str(resource)


def _period(entry: Mapping[str, Any], where: str) -> str:
    period = entry.get("period", DEFAULT_PERIOD)
    problem = period_problem(period)
    if problem:
        raise BudgetFileError(f"{where}: {problem}")
    return str(period)


def _limit(entry: Mapping[str, Any], where: str) -> Decimal:
    if "limit" not in entry:
        raise BudgetFileError(f"{where}: limit is missing")
    problem = limit_problem(entry["limit"])
    if problem:
        raise BudgetFileError(f"{where}: {problem}")
    return parse_limit(entry["limit"])
