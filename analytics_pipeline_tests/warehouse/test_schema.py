"""The warehouse a writer creates, compared with a frozen description of it.

``schema_expectation.json`` holds every table, view, column and macro of a new warehouse (names, types,
nullability, parameters and comments), as the schema and the analysis layer created them when it was
frozen. The SQL that creates them is generated in part (the metric columns, their comments), so this is
what shows that generating it changed nothing. A deliberate change to the schema or its documentation
rewrites the file: ``.venv/bin/python -m analytics_pipeline_tests.warehouse.test_schema``, then review
the diff.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import duckdb

from analytics_pipeline.warehouse import Warehouse

EXPECTATION = Path(__file__).with_name("schema_expectation.json")

CATALOG_SQL: dict[str, str] = {
    "tables": """
        select table_name, comment
        from duckdb_tables()
        where schema_name = 'main' and not internal
        order by table_name
    """,
    "views": """
        select view_name, comment
        from duckdb_views()
        where schema_name = 'main' and not internal
        order by view_name
    """,
    "columns": """
        select table_name, column_index, column_name, data_type, is_nullable, comment
        from duckdb_columns()
        where schema_name = 'main' and not internal
        order by table_name, column_index
    """,
    "macros": """
        select function_name, function_type, parameters, comment
        from duckdb_functions()
        where schema_name = 'main' and not internal and function_type in ('macro', 'table_macro')
        order by function_name, parameters
    """,
}
"""What is compared: each part of the catalog, in a stable order."""


def catalog(con: duckdb.DuckDBPyConnection) -> dict[str, list[dict[str, Any]]]:
    """The parts of the warehouse's catalog in :data:`CATALOG_SQL`, as JSON-ready rows."""
    parts: dict[str, list[dict[str, Any]]] = {}
    for part, sql in CATALOG_SQL.items():
        result = con.execute(sql)
        names = [d[0] for d in result.description]
        parts[part] = [dict(zip(names, row, strict=True)) for row in result.fetchall()]
    return parts


def new_warehouse_catalog(directory: Path) -> dict[str, list[dict[str, Any]]]:
    """The catalog of a warehouse created in ``directory`` by a writer (schema and analysis layer)."""
    with Warehouse(directory / "warehouse.duckdb").writer() as con:
        return catalog(con)


def test_a_new_warehouse_is_exactly_the_frozen_one(tmp_path: Path) -> None:
    expected = json.loads(EXPECTATION.read_text(encoding="utf-8"))
    found = new_warehouse_catalog(tmp_path)
    assert set(found) == set(expected)
    for part in expected:
        assert found[part] == expected[part], part


def _write_expectation() -> None:
    with tempfile.TemporaryDirectory() as directory:
        found = new_warehouse_catalog(Path(directory))
    EXPECTATION.write_text(json.dumps(found, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    sys.stdout.write(f"wrote {EXPECTATION}\n")


if __name__ == "__main__":
    _write_expectation()
