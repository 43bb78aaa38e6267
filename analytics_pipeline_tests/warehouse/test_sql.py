"""The warehouse's SQL files: where they are, their placeholders, and what the analysis digest covers."""

from __future__ import annotations

import re
from collections.abc import Iterator
from importlib.resources import files
from pathlib import Path

import pytest

import analytics_pipeline
from analytics_pipeline.api.endpoints import ASSET_ENDPOINTS, METRICS
from analytics_pipeline.warehouse import Warehouse, sql
from analytics_pipeline.warehouse.analysis import ANALYSIS_FILES, INSTALLED_FILES, analysis_digest
from analytics_pipeline.warehouse.sql import (
    SCHEMA_FILES,
    fill_placeholders,
    identifier,
    identifiers,
    scalar,
)
from analytics_pipeline.warehouse.sql.metrics import METRIC_DESCRIPTIONS

SQL_DIR = Path(str(files("analytics_pipeline.warehouse.sql")))


def _names(folder: str) -> set[str]:
    return {f"{folder}/{p.stem}" for p in (SQL_DIR / folder).glob("*.sql")}


def test_every_file_of_the_analysis_folder_is_installed_once() -> None:
    assert len(set(ANALYSIS_FILES)) == len(ANALYSIS_FILES)
    assert set(ANALYSIS_FILES) == _names("analysis")


def test_no_sql_file_lies_outside_a_folder() -> None:
    assert list(SQL_DIR.glob("*.sql")) == []


@pytest.fixture
def fresh_sql() -> Iterator[None]:
    """``read_sql`` reads its files anew in the test, and again after it."""
    sql.read_sql.cache_clear()
    yield
    sql.read_sql.cache_clear()


@pytest.mark.parametrize("name", [*SCHEMA_FILES, *INSTALLED_FILES])
def test_editing_any_file_of_the_layer_or_the_schema_changes_its_digest(
    name: str, monkeypatch: pytest.MonkeyPatch, fresh_sql: None
) -> None:
    before = analysis_digest()
    original = sql._file_text
    monkeypatch.setattr(sql, "_file_text", lambda n: original(n) + ("\n-- edited\n" if n == name else ""))
    sql.read_sql.cache_clear()
    assert analysis_digest() != before


def test_editing_a_metric_description_changes_the_digest(
    monkeypatch: pytest.MonkeyPatch, fresh_sql: None
) -> None:
    before = analysis_digest()
    monkeypatch.setitem(METRIC_DESCRIPTIONS, "chat_messages", "Chat messages, counted anew.")
    sql.read_sql.cache_clear()
    assert analysis_digest() != before


def test_every_metric_is_described_once_in_the_api_order() -> None:
    assert tuple(METRIC_DESCRIPTIONS) == METRICS


def test_a_placeholder_without_a_value_and_a_value_without_a_placeholder_are_errors() -> None:
    with pytest.raises(KeyError, match=r"t.sql needs a value for \{\{ table \}\}"):
        fill_placeholders("select * from {{ table }}", {}, source="t.sql")
    with pytest.raises(KeyError, match=re.escape("t.sql has no placeholder for table")):
        fill_placeholders("select 1", {"table": "fct_dau_count"}, source="t.sql")
    filled = fill_placeholders("select * from {{ table }}", {"table": "fct_dau_count"}, source="t.sql")
    assert filled == "select * from fct_dau_count"


def test_a_placeholder_alone_on_its_line_indents_what_replaces_it() -> None:
    sql = fill_placeholders("create table t (\n    {{ metric_columns }}\n)", {}, source="t.sql")
    lines = sql.splitlines()[1:-1]
    assert [line.split()[0] for line in lines] == list(METRICS)
    assert all(line.startswith("    ") and not line.startswith("     ") for line in lines)


def test_identifiers_refuse_anything_but_plain_names() -> None:
    assert identifiers("date", "user_key") == "date, user_key"
    for bad in ("date; drop table x", "Date", "a b", "", '"x"', "date, user_key"):
        with pytest.raises(ValueError):
            identifier(bad)
        with pytest.raises(ValueError):
            identifiers("date", bad)


@pytest.mark.parametrize(
    ("email", "service_account"),
    [("ana@example.com", None), (None, "ci-bot"), ("ana@example.com", "ci-bot"), (None, None)],
)
def test_the_user_key_macro_gives_the_keys_loads_always_gave(
    email: str | None, service_account: str | None, tmp_path: Path
) -> None:
    with Warehouse(tmp_path / "warehouse.duckdb").writer() as con:
        by_macro, by_expression = con.execute(
            "select user_key($e, $s), coalesce($e, 'service_account:' || $s)",
            {"e": email, "s": service_account},
        ).fetchall()[0]
    assert by_macro == by_expression


def _named_in_code() -> set[str]:
    """Every ``read_sql("...")`` name written out in the package's modules."""
    package = Path(analytics_pipeline.__file__).parent
    named: set[str] = set()
    for module in package.rglob("*.py"):
        named |= set(re.findall(r'read_sql\(\s*"([a-z_/]+)"', module.read_text(encoding="utf-8")))
    return named


def test_every_sql_file_is_read_and_every_name_read_is_a_file() -> None:
    files_ = {f"{p.parent.name}/{p.stem}" for p in SQL_DIR.glob("*/*.sql")}
    loads = {f"load/{e.name}" for e in ASSET_ENDPOINTS}  # read as f"load/{endpoint.name}"
    named = _named_in_code()
    assert named <= files_
    assert files_ == named | loads | set(SCHEMA_FILES) | set(INSTALLED_FILES)


def test_a_warehouse_from_before_the_user_key_macro_gets_it_from_its_next_writer(tmp_path: Path) -> None:
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    with warehouse.writer() as con:
        con.execute("drop macro user_key")
        con.execute("update analysis_installed set digest = 'a layer of older code'")
    with warehouse.writer() as con:
        assert scalar(con, "select user_key(null, 'ci-bot')") == "service_account:ci-bot"
