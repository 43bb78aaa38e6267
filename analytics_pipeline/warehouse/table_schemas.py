"""The warehouse tables' columns, their types and their documentation, as DuckDB itself describes them.

For the Dagster UI (each fact asset's column schema): read from an in-memory DuckDB on which the schema
and the analysis layer's comments are created, so what the UI shows is exactly what ``duckdb_columns()``
says of the warehouse, never a second list to keep in step.
"""

from __future__ import annotations

from functools import cache

import duckdb

from analytics_pipeline.warehouse.analysis import install_analysis
from analytics_pipeline.warehouse.sql import read_sql, schema_sql


@cache
def table_columns() -> dict[str, tuple[tuple[str, str, str | None], ...]]:
    """Each table of schema ``main``: its columns in order, as (name, DuckDB type, comment)."""
    with duckdb.connect() as con:
        con.execute(schema_sql())
        install_analysis(con)
        rows = con.execute(read_sql("reads/table_columns")).fetchall()
    tables: dict[str, list[tuple[str, str, str | None]]] = {}
    for table, column, data_type, comment in rows:
        tables.setdefault(table, []).append((column, data_type, comment))
    return {table: tuple(columns) for table, columns in tables.items()}
