"""The warehouse's SQL: one statement (or one script) per ``.sql`` file, in folders by purpose.

- ``schema/``: the tables, created if missing by every writer;
- ``load/``: a landed partition into its fact table (one file per endpoint), and ``dim_users`` rebuilt;
- ``pipeline/``: the pipeline's own records (``pipeline_partitions``, ``pipeline_rechecks``);
- ``analysis/``: the analysis layer, its macros, views and documentation (see ``warehouse.analysis``).

A file is named by its path without the suffix: ``read_sql("load/dau")``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from importlib.resources import files
from typing import Any

import duckdb


@cache
def read_sql(name: str) -> str:
    """The text of ``<name>.sql``, ``name`` a path under this folder without the suffix (``load/dau``)."""
    return files(__package__).joinpath(*f"{name}.sql".split("/")).read_text(encoding="utf-8")


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
