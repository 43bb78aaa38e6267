"""The analysis layer inside ``warehouse.duckdb``: macros and views for SQL users, and their documentation.

The files of ``sql/analysis/`` create (or replace) the views and table macros, theme by theme, then
create the two documentation views (``analysis_macros``, ``analysis_glossary``) and put a ``COMMENT ON``
every table, view, column and macro, so that ``duckdb_columns()``, ``duckdb_views()`` and
``duckdb_functions()`` explain the warehouse to someone with only the duckdb shell. Replacing a view or
macro drops its comment, so the files always run together, in one transaction.

Creating the layer takes a tenth of a second or more, and every write connection installs it; so the
installed version (a digest of the schema and every file of the layer) is kept in ``analysis_installed``
and the layer is created again only when one of the files changed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

import duckdb

from analytics_pipeline.warehouse.sql import read_sql, scalar, schema_sql, table_exists, transaction

if TYPE_CHECKING:
    from analytics_pipeline.warehouse.location import WarehouseDoors

ANALYSIS_FILES: tuple[str, ...] = (
    "analysis/helpers",
    "analysis/days",
    "analysis/usage",
    "analysis/breakdowns",
    "analysis/credits",
    "analysis/budgets",
    "analysis/adoption",
    "analysis/documentation",
    "analysis/comments_on_tables",
    "analysis/comments_on_analysis",
    "analysis/comments_on_view_columns",
    "analysis/comments_on_macros",
)
"""Every file of ``sql/analysis/``, run in this order: each object after those it reads, the comments last."""

SCHEMA_MACROS: tuple[str, ...] = ("schema/user_key", "schema/comment_on_user_key")
"""The schema's macros, which the loads use: created or replaced with the layer, when its SQL changed,
rather than by every writer, because replacing a macro writes to the warehouse (a WAL, a checkpoint) and
a writer that loads nothing must write nothing. A writer installs the layer before it loads anything."""

SCHEMA_COMMENTS: tuple[str, ...] = ("schema/comments_on_organization",)
"""The schema's comments kept beside it rather than in ``analysis/comments_on_tables.sql``: installed with
the layer all the same, so a warehouse migrated to organisations (its SQL changed) gets them."""

INSTALLED_FILES: tuple[str, ...] = (*SCHEMA_MACROS, *ANALYSIS_FILES, *SCHEMA_COMMENTS)
"""What :func:`install_analysis` runs, in this order."""

LAKE_SKIPPED_FILES: frozenset[str] = frozenset(
    {"schema/comment_on_user_key", "analysis/comments_on_view_columns", "analysis/comments_on_macros"}
)
"""The comments a DuckLake refuses: DuckLake 1.5.5 stores no comment on a macro or on a view's column
("Unsupported catalog type for SET COMMENT in DuckLake"), so on a lake ``duckdb_functions()`` has no
description of the macros; ``analysis_macros`` still lists them, with their signatures and examples."""

LAKE_INSTALLED_FILES: tuple[str, ...] = tuple(
    name for name in INSTALLED_FILES if name not in LAKE_SKIPPED_FILES
)
"""What :func:`install_analysis` runs on a DuckLake, in this order."""

MACROS: tuple[str, ...] = (
    "usage_summary",
    "usage_timeseries",
    "active_users_trailing",
    "usage_by_user",
    "usage_by_organization",
    "usage_by_editor",
    "usage_by_language",
    "usage_by_surface",
    "credits_by_model",
    "credits_by_user",
    "credits_timeseries",
    "budget_utilisation",
)
"""The analysis table macros users call (helpers such as ``usage_rows`` are documented too)."""

VIEWS: tuple[str, ...] = ("analysis_days", "user_adoption", "analysis_macros", "analysis_glossary")


def analysis_digest() -> str:
    """A digest of the SQL that defines the layer, as run (the schema included: its tables carry comments;
    the metric columns' generated SQL included)."""
    digest = hashlib.sha256(schema_sql().encode("utf-8"))
    for name in INSTALLED_FILES:
        digest.update(read_sql(name).encode("utf-8"))
    return digest.hexdigest()


def installed_digest(con: duckdb.DuckDBPyConnection) -> str | None:
    """The digest of the layer installed in the warehouse, or None when none is."""
    if not table_exists(con, "analysis_installed"):
        return None
    return scalar(con, read_sql("pipeline/installed_analysis"))


def install_analysis(
    con: duckdb.DuckDBPyConnection, *, force: bool = False, files: Sequence[str] = INSTALLED_FILES
) -> bool:
    """Create or replace the schema's and the analysis layer's macros and views, and comment every object,
    unless up to date.

    Needs a read-write connection on which the schema has been created (the tables must exist). Returns
    whether anything was (re)created. Idempotent; ``force`` re-creates even an up-to-date layer. ``files``:
    :data:`LAKE_INSTALLED_FILES` on a DuckLake (the same version of the layer, less what it cannot store).
    """
    digest = analysis_digest()
    if not force and installed_digest(con) == digest:
        return False
    with transaction(con):
        for name in files:
            con.execute(read_sql(name))
        con.execute(read_sql("pipeline/record_installed_analysis"), {"digest": digest})
    return True


def ensure_current_layer(warehouse: WarehouseDoors) -> None:
    """Install this version's analysis layer if the warehouse has an older one (a warehouse last loaded by
    an older version), so a reader finds the views and macros this version documents.

    Checking needs a reader only; a writer is opened when the layer is stale, and only then.
    """
    with warehouse.reader(wait=True) as con:
        current = installed_digest(con) == analysis_digest()
    if not current:
        with warehouse.writer() as con:
            install_analysis(con)  # a no-op if another writer installed it since the check
