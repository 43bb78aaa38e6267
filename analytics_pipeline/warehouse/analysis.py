"""The analysis layer inside ``warehouse.duckdb``: macros and views for SQL users, and their documentation.

``analysis.sql`` creates (or replaces) the views and table macros; ``comments.sql`` then puts a
``COMMENT ON`` every table, view, column and macro, so ``duckdb_columns()``, ``duckdb_views()`` and
``duckdb_functions()`` explain the warehouse to someone with only the duckdb shell. Replacing a view
or macro drops its comment, so the two always run together, in one transaction.
"""

from __future__ import annotations

import duckdb

from analytics_pipeline.warehouse.sql import read_sql

ANALYSIS_FILES: tuple[str, ...] = ("analysis", "comments")
"""Run in this order: the objects first, then their comments."""

MACROS: tuple[str, ...] = (
    "usage_summary",
    "usage_timeseries",
    "usage_by_user",
    "usage_by_editor",
    "usage_by_language",
    "usage_by_surface",
    "credits_by_model",
    "credits_by_user",
    "budget_utilisation",
)
"""The analysis table macros users call (helpers such as ``usage_rows`` are documented too)."""


def install_analysis(con: duckdb.DuckDBPyConnection) -> None:
    """Create or replace the analysis macros and views, and comment every object (idempotent).

    Needs a read-write connection on which ``schema.sql`` has run (the tables must exist).
    """
    con.execute("begin transaction")
    try:
        for name in ANALYSIS_FILES:
            con.execute(read_sql(name))
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
