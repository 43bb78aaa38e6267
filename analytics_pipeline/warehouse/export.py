"""Export a warehouse table, view or query to CSV or Parquet, for BI tools that cannot read DuckDB.

The warehouse is opened read-only, and DuckDB's own ``COPY (...) TO ... (FORMAT ...)`` writes the file.
It writes to a hidden temporary file beside ``out`` and renames it over ``out`` only when complete, so a
reader sees the old file or the new one, never half of one. Bad input raises :class:`ValueError` with one
line that names the fix; a warehouse file another process holds open for writing raises
:class:`~analytics_pipeline.warehouse.WarehouseBusy` at once (from :meth:`Warehouse.reader`, which names
the holder). A DuckLake warehouse is read the same way, from its latest snapshot, while loads go on.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from pathlib import Path

import duckdb

from analytics_pipeline.config.outputs import check_output_path
from analytics_pipeline.warehouse import WarehouseDoors
from analytics_pipeline.warehouse.organizations import check_organizations
from analytics_pipeline.warehouse.sql import read_sql

FORMATS: dict[str, str] = {
    "csv": "format csv, header true",
    "parquet": "format parquet",
}
"""The formats offered, with the COPY options each is written with (constants, never input)."""


def quote_identifier(name: str) -> str:
    """``name`` as a DuckDB identifier: double-quoted, inner double quotes doubled."""
    return '"' + name.replace('"', '""') + '"'


def _relation(con: duckdb.DuckDBPyConnection, table: str) -> str:
    """The quoted ``schema.name`` of an existing table or view (``table``: ``name`` or ``schema.name``)."""
    schema, _, name = table.rpartition(".")
    schema = schema or "main"
    relations = con.execute(read_sql("reads/relations")).fetchall()
    if not relations:  # a first run killed before its schema was written
        raise ValueError("the warehouse has no tables yet; run `analytics-pipeline demo` or a backfill first")
    if (schema, name) not in relations:
        known = ", ".join(n for s, n in relations if s == "main")
        raise ValueError(f"no table or view {table!r} in the warehouse; use one of: {known}")
    return f"{quote_identifier(schema)}.{quote_identifier(name)}"


def _has_organization(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, _, name = table.rpartition(".")
    columns = con.execute(read_sql("reads/relation_columns"), {"schema": schema or "main", "name": name})
    return "organization" in {column for (column,) in columns.fetchall()}


def _source(
    con: duckdb.DuckDBPyConnection, table: str | None, query: str | None, organizations: Sequence[str]
) -> str:
    if table is not None:
        relation = _relation(con, table.strip())
        if not organizations:
            return f"select * from {relation}"
        if not _has_organization(con, table.strip()):
            raise ValueError(
                f"{table.strip()!r} has no organization column to filter on; leave --organization out"
            )
        check_organizations(con, organizations)
        # The names are bound: the statement is prepared with them (COPY takes no other parameters).
        return f"select * from {relation} where organization in (select unnest($organizations::varchar[]))"
    assert query is not None
    # The user's own SQL, by design: the connection is read-only and COPY accepts one query only.
    return query


def export(
    warehouse: WarehouseDoors,
    data_dir: Path,
    *,
    table: str | None = None,
    query: str | None = None,
    fmt: str,
    out: str | os.PathLike[str],
    organizations: Sequence[str] = (),
) -> int:
    """Write ``table`` (a table or view, ``name`` or ``schema.name``) or the result of ``query`` to ``out``
    as ``fmt`` (``csv`` with a header row, or ``parquet``); returns the number of rows written.

    ``data_dir``: the data directory, whose own files ``out`` must not overwrite. ``organizations``: only
    their rows of ``table`` (every row when empty); a ``query`` filters on ``organization`` itself."""
    if (table is None) == (query is None):
        raise ValueError("give exactly one of --table NAME or --query SQL")
    if query is not None and organizations:
        raise ValueError("--organization filters a --table; in a --query, filter on the organization column")
    if table is not None and not table.strip():
        raise ValueError("--table is empty; give a table or view name, e.g. --table fct_dau_count")
    if query is not None:
        query = query.strip().rstrip(";").strip()
        if not query:
            raise ValueError("--query is empty; give one SELECT statement, e.g. --query 'from fct_dau_count'")
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise ValueError(f"--format {fmt!r} is not supported; use one of: {', '.join(FORMATS)}")
    out_path = check_output_path(Path(out), data_dir, example=f"export.{fmt}")
    if not warehouse.exists():
        raise ValueError(
            f"no warehouse at {warehouse.description}; run `analytics-pipeline demo` or a backfill first"
        )

    # Keep the real name's suffixes at the end (DuckDB infers e.g. gzip from ".csv.gz").
    tmp = out_path.with_name(f".tmp-{uuid.uuid4().hex[:12]}-{out_path.name}")
    try:
        with warehouse.reader() as con:
            source = _source(con, table, query, organizations)
            params: dict[str, object] = {"path": str(tmp)}
            if organizations:
                params["organizations"] = list(organizations)
            try:
                rows = con.execute(f"copy ({source}) to $path ({FORMATS[fmt]})", params).fetchall()[0][0]
            except duckdb.IOException:
                raise
            except duckdb.Error as exc:  # the query's own fault: syntax, names, types, errors it raises
                first = str(exc).strip().splitlines()[0]
                raise ValueError(
                    f"--query failed: {first}; fix the SQL (try it in {warehouse.read_only_shell})"
                ) from None
        os.replace(tmp, out_path)
    finally:
        tmp.unlink(missing_ok=True)
    return int(rows)
