"""The warehouse's SQL files: where they are, and what the analysis layer's digest covers."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import pytest

from analytics_pipeline.warehouse import analysis
from analytics_pipeline.warehouse.analysis import ANALYSIS_FILES, analysis_digest
from analytics_pipeline.warehouse.sql import read_sql

SQL_DIR = Path(str(files("analytics_pipeline.warehouse.sql")))


def _names(folder: str) -> set[str]:
    return {f"{folder}/{p.stem}" for p in (SQL_DIR / folder).glob("*.sql")}


def test_every_file_of_the_analysis_folder_is_installed_once() -> None:
    assert len(set(ANALYSIS_FILES)) == len(ANALYSIS_FILES)
    assert set(ANALYSIS_FILES) == _names("analysis")


def test_no_sql_file_lies_outside_a_folder() -> None:
    assert list(SQL_DIR.glob("*.sql")) == []


@pytest.mark.parametrize("name", ANALYSIS_FILES)
def test_editing_any_file_of_the_layer_changes_its_digest(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = analysis_digest()
    edited = read_sql(name) + "\n-- edited\n"
    monkeypatch.setattr(analysis, "read_sql", lambda n: edited if n == name else read_sql(n))
    assert analysis_digest() != before
