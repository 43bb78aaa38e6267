"""The warehouse's SQL: one statement (or one script) per ``.sql`` file, in folders by purpose.

- ``schema/``: the tables, created by every writer (and an older warehouse given its ``organization``
  column: ``warehouse.schema``), the ``user_key`` macro every load uses, and the organization column's
  documentation;
- ``load/``: a landed partition into its fact table (one file per endpoint), and ``dim_users`` rebuilt;
- ``pipeline/``: the pipeline's own records (``pipeline_partitions``, ``pipeline_rechecks``,
  ``analysis_installed``): written, and read; and ``table_exists``;
- ``analysis/``: the analysis layer, its macros, views and documentation (see ``warehouse.analysis``);
- ``checks/``: the asset checks' queries (``defs/checks.py``);
- ``report/``: the usage report's queries of the analysis macros (``report/data.py``);
- ``reads/``: the other reads: the request plan's history, the relations an export may name, settings;
- ``lake/``: a DuckLake warehouse's own: its catalog secret (DuckDB), and what the catalog database says
  of the lake (PostgreSQL, run with psycopg2 by ``warehouse.lake``).

A file is named by its path without the suffix: ``read_sql("load/dau")``. Values are always bound
parameters (``$date``). What cannot be a parameter is a placeholder, ``{{ name }}`` or
``{{ name argument }}``: an identifier from the package's constant tables, given by the caller (see
:func:`identifier`), or the metric columns' SQL, written from the metric list (see :mod:`.metrics`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from importlib.resources import files
from typing import Any

import duckdb

from analytics_pipeline.warehouse.sql.metrics import EXPANSIONS

SCHEMA_FILES: tuple[str, ...] = ("schema/tables",)
"""The tables every writer creates if missing (the schema's macros are installed with the analysis layer:
see ``warehouse.analysis.SCHEMA_MACROS``)."""

_PLACEHOLDER = re.compile(r"\{\{ (?P<name>[a-z_]+)(?: (?P<argument>[a-z_]+))? \}\}")
_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")


@cache
def _file_text(name: str) -> str:
    """The file's text as written, placeholders and all."""
    return files(__package__).joinpath(*f"{name}.sql".split("/")).read_text(encoding="utf-8")


@cache
def read_sql(name: str, **parts: str) -> str:
    """The SQL of ``<name>.sql`` (``name``: its path under this folder without the suffix, ``load/dau``),
    its placeholders filled with ``parts`` (see :func:`fill_placeholders`)."""
    return fill_placeholders(_file_text(name), parts, source=f"{name}.sql")


def fill_placeholders(text: str, parts: Mapping[str, str], *, source: str) -> str:
    """``text`` with each ``{{ placeholder }}`` replaced by the part of that name, or by the metric
    columns' SQL (:data:`.metrics.EXPANSIONS`).

    A placeholder on a line of its own indents every line of what replaces it like itself. A placeholder
    without a value, or a part ``text`` does not use, is an error (``source`` names the file in it).
    """
    unused = set(parts)

    def fill(match: re.Match[str]) -> str:
        key, argument = match["name"], match["argument"]
        if key in parts and argument is None:
            unused.discard(key)
            sql = parts[key]
        elif key in EXPANSIONS:
            sql = EXPANSIONS[key](*(() if argument is None else (argument,)))
        else:
            raise KeyError(f"{source} needs a value for {match[0]}")
        line = text[text.rfind("\n", 0, match.start()) + 1 : match.start()]
        indent = line if line.isspace() else ""
        return sql.replace("\n", "\n" + indent)

    filled = _PLACEHOLDER.sub(fill, text)
    if unused:
        raise KeyError(f"{source} has no placeholder for {', '.join(sorted(unused))}")
    return filled


def identifier(name: str) -> str:
    """``name`` for SQL text: a plain lower-case identifier from the package's constant tables, never
    input (this refuses anything else)."""
    if not _IDENTIFIER.fullmatch(name):
        raise ValueError(f"{name!r} is not a plain identifier")
    return name


def identifiers(*names: str) -> str:
    """``names`` as a comma-separated list for SQL text, each checked by :func:`identifier`."""
    return ", ".join(identifier(name) for name in names)


def schema_sql() -> str:
    """The SQL every writer runs first: the tables, created if missing (and nothing else written)."""
    return "\n".join(read_sql(name) for name in SCHEMA_FILES)


def scalar(
    con: duckdb.DuckDBPyConnection, sql: str, params: Mapping[str, Any] | Sequence[Any] | None = None
) -> Any:
    """The single value a query returns.

    It fetches the whole result: DuckDB 2 refuses further work on a connection whose last result was
    only partly fetched.
    """
    return con.execute(sql, params).fetchall()[0][0]


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    """Whether the warehouse has a table ``name`` (in schema ``main``)."""
    return bool(scalar(con, read_sql("pipeline/table_exists"), {"name": name}))


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """One transaction around the block: committed when it ends, rolled back when it raises.

    A commit that fails (out of memory, say) has already ended the transaction, so its error is raised
    as it is: a rollback after it would only fail again and hide why.
    """
    con.execute("begin transaction")
    try:
        yield
    except BaseException:
        con.execute("rollback")
        raise
    con.execute("commit")
