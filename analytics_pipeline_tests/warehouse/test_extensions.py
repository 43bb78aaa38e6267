"""DuckDB extensions come from the installed wheels, never the network; a missing one is one line."""

from collections.abc import Iterator

import duckdb
import pytest

from analytics_pipeline.warehouse import extensions
from analytics_pipeline.warehouse.extensions import (
    OFFLINE_CONFIG,
    WHEELS,
    MissingExtension,
    extension_file,
    load_extensions,
)


@pytest.fixture
def fresh_cache() -> Iterator[None]:
    extension_file.cache_clear()
    yield
    extension_file.cache_clear()


@pytest.mark.parametrize("name", sorted(WHEELS))
def test_every_extension_loads_from_its_wheel_offline(name: str) -> None:
    path = extension_file(name)
    assert path.is_file() and f"v{duckdb.__version__}" in str(path)
    with duckdb.connect(config=dict(OFFLINE_CONFIG)) as con:
        load_extensions(con, name)
        load_extensions(con, name)  # a second time is a no-op
        assert con.execute(
            "select loaded from duckdb_extensions() where extension_name = ?", [name]
        ).fetchall() == [(True,)]


def test_a_missing_wheel_is_one_line_naming_the_package(
    monkeypatch: pytest.MonkeyPatch, fresh_cache: None
) -> None:
    monkeypatch.setitem(extensions.WHEELS, "ducklake", "no_such_duckdb_extension_module")
    with duckdb.connect(config=dict(OFFLINE_CONFIG)) as con, pytest.raises(MissingExtension) as raised:
        load_extensions(con, "ducklake")
    message = str(raised.value)
    assert "\n" not in message
    assert f"no-such-duckdb-extension-module=={duckdb.__version__}" in message
    assert raised.value.exit_code == 2


def test_a_wheel_without_a_build_for_this_duckdb_is_one_line(
    monkeypatch: pytest.MonkeyPatch, fresh_cache: None
) -> None:
    monkeypatch.setattr(extensions.duckdb, "__version__", "0.0.1")
    with pytest.raises(MissingExtension, match=r"carries no ducklake extension for DuckDB 0\.0\.1"):
        extension_file("ducklake")
