"""The warehouse's tables, created by every writer, and a warehouse made before organisations migrated.

Every table of ``sql/schema/tables.sql`` has an ``organization`` column (VARCHAR, NOT NULL, its last
column, the first part of every key). A warehouse made before it existed gets it the first time a writer
of this release opens it, in place and without a request: every row it holds becomes the default
organisation's (:data:`~analytics_pipeline.config.organizations.DEFAULT_ORGANIZATION`), and the column is
left NOT NULL and without a default, so a load that forgets the organisation fails instead of writing the
default. The catalog says which tables lack the column; a migrated warehouse costs one catalog query.

- A warehouse file: the column is added with the default (which fills every row), the default dropped,
  then NOT NULL set (``add_organization.sql``). DuckDB rewrites no row of the other columns.
- A DuckLake: DuckLake 1.5.5 adds the column and drops its default, but refuses ``SET NOT NULL`` on it
  ("no column stats are available": always on an empty table, and on a table with rows unless they are
  rewritten in the same transaction). So each table is renamed aside, made again by ``tables.sql``, its
  rows copied in with the organisation bound as a parameter, and the old one dropped: every Parquet file
  is written once again. The columns come out in the order a new lake has.

``pipeline_partitions.source`` (``api`` or ``derived``) came later: a warehouse without it gets it, every
row it holds ``api`` (``add_source.sql``); a file before its ``organization`` (so one made before both ends
in a fresh file's column order), a DuckLake after its tables are made again. A warehouse that already had
``organization`` gets ``source`` after it: loads write by name, so only the column order differs.

Either way it is one transaction with the schema's own statements: a kill leaves the warehouse as it was.
"""

from __future__ import annotations

import duckdb

from analytics_pipeline.organization import DEFAULT_ORGANIZATION
from analytics_pipeline.warehouse.sql import identifiers, read_sql, schema_sql, transaction

ORGANIZATION = "organization"
"""The column naming the organisation a row belongs to, on every table below."""

TABLES: tuple[str, ...] = (
    "fct_dau_count",
    "fct_dau_users",
    "fct_daily_usage",
    "fct_user_activity",
    "fct_user_activity_monthly",
    "fct_editor_language_activity",
    "fct_credit_usage",
    "fct_budget_overrides",
    "fct_budget_changes",
    "dim_users",
    "pipeline_partitions",
    "pipeline_rechecks",
)
"""Every table ``tables.sql`` creates: each has the ``organization`` column."""

SET_ASIDE_SUFFIX = "_before_organization"


def tables_without_organization(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The tables of :data:`TABLES` in the warehouse that lack the ``organization`` column, in order."""
    rows = con.execute(read_sql("schema/organization_columns"), {"tables": list(TABLES)}).fetchall()
    migrated = {table for table, is_organization in rows if is_organization}
    present = {table for table, _ in rows}
    return [table for table in TABLES if table in present and table not in migrated]


def create_schema(con: duckdb.DuckDBPyConnection, *, lake: bool) -> list[str]:
    """The tables created if missing, and those made before organisations migrated (``lake``: the
    connection's database is a DuckLake); the tables migrated, in one transaction."""
    with transaction(con):  # a kill leaves every table or none, never half a schema
        con.execute(schema_sql())
        missing = tables_without_organization(con)
        if missing and lake:
            _copy_with_organization(con, missing)  # made again with ``source`` before ``organization``
        else:
            # Before the organisation, so that a file made before both ends in a fresh file's order.
            con.execute(read_sql("schema/add_source"))
            for table in missing:
                con.execute(read_sql("schema/add_organization", table=identifiers(table)))
        con.execute(read_sql("schema/add_source"))
    return missing


def _copy_with_organization(con: duckdb.DuckDBPyConnection, tables: list[str]) -> None:
    names = [{"table": identifiers(t), "old_table": identifiers(t + SET_ASIDE_SUFFIX)} for t in tables]
    for old in names:
        con.execute(read_sql("schema/set_aside_for_organization", **old))
    con.execute(schema_sql())  # the tables set aside, made again with the column
    for old in names:
        con.execute(read_sql("schema/copy_with_organization", **old), {"organization": DEFAULT_ORGANIZATION})
        con.execute(read_sql("schema/drop_set_aside", old_table=old["old_table"]))
