"""What the warehouse knows of the members: who may have a budget, and how much of it they use."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import duckdb

from analytics_pipeline.budgets.limits import Key
from analytics_pipeline.warehouse.sql import read_sql, table_exists


@dataclass(frozen=True)
class Use:
    """A member's use of a current override this month (``budget_utilisation``)."""

    percent_used: float | None
    projected_month_end: float | None


def people(con: duckdb.DuckDBPyConnection, organization: str) -> set[str]:
    """The emails (or pseudonyms) of the organisation's people in ``dim_users``."""
    if not table_exists(con, "dim_users"):
        return set()
    rows = con.execute(read_sql("budgets/people"), {"organization": organization}).fetchall()
    return {email for (email,) in rows}


def month_use(con: duckdb.DuckDBPyConnection, month: dt.date, organization: str) -> dict[Key, Use]:
    """Each current override's use in ``month``, by (stored) member, resource and period."""
    if not table_exists(con, "fct_budget_overrides"):
        return {}
    rows = con.execute(
        read_sql("budgets/utilisation"), {"month": month, "organization": organization}
    ).fetchall()
    return {
        Key(user_key, resource, period): Use(
            None if percent is None else float(percent), None if projected is None else float(projected)
        )
        for user_key, resource, period, percent, projected in rows
    }
