"""DuckDB extensions from the installed ``duckdb-extension-*`` wheels, never from the network.

DuckDB would download ``ducklake``, ``postgres_scanner`` and ``httpfs`` from its extension repository on
first use; a warehouse host may have no route there, and a run that downloads code is not reproducible.
The project pins the PyPI wheels that carry each extension built for the pinned DuckDB (see
``pyproject.toml``), and :func:`load_extensions` installs each from its file (``INSTALL '<path>'``) into
DuckDB's extension directory (where a ``duckdb`` shell of the same version finds it too), then loads it;
without a home directory to install into, it loads the file directly. Autoinstall and autoload stay
off on every connection that uses them (:data:`OFFLINE_CONFIG`), so nothing is ever fetched behind our back.
"""

from __future__ import annotations

import importlib
from functools import cache
from pathlib import Path

import duckdb

from analytics_pipeline.errors import FIX_INPUT, PipelineError

WHEELS: dict[str, str] = {
    "ducklake": "duckdb_extension_ducklake",
    "postgres_scanner": "duckdb_extension_postgres_scanner",
    "httpfs": "duckdb_extension_httpfs",
}
"""Each extension the pipeline uses, and the module of the wheel that carries it."""

OFFLINE_CONFIG: dict[str, str] = {
    "autoinstall_known_extensions": "false",
    "autoload_known_extensions": "false",
}
"""DuckDB settings for a connection that must never download an extension."""


class MissingExtension(PipelineError, RuntimeError):
    """An extension's wheel is not installed, or carries no build for this DuckDB."""

    exit_code = FIX_INPUT


@cache
def extension_file(name: str) -> Path:
    """The extension's file in its wheel, for the DuckDB this process runs."""
    module_name = WHEELS[name]
    version = duckdb.__version__
    package = module_name.replace("_", "-")
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        raise MissingExtension(
            f"the DuckDB extension {name} is not installed: install the wheel `{package}=={version}` "
            "(`make install` does)"
        ) from None
    found = Path(module.__file__ or "").parent / "extensions" / f"v{version}" / f"{name}.duckdb_extension"
    if not found.is_file():
        raise MissingExtension(
            f"the installed `{package}` carries no {name} extension for DuckDB {version}; install "
            f"`{package}=={version}` (`make install` does)"
        )
    return found


def load_extensions(con: duckdb.DuckDBPyConnection, *names: str) -> None:
    """Install (from its wheel's file) and load each extension on ``con``."""
    for name in names:
        path = extension_file(name)
        loaded = con.execute(
            "select loaded from duckdb_extensions() where extension_name = $name", {"name": name}
        ).fetchall()
        if loaded and loaded[0][0]:
            continue
        # INSTALL and LOAD take literals, not parameters; the path is the wheel's own file, quoted as text.
        try:
            con.execute(f"install '{_sql_text(str(path))}'")
        except duckdb.IOException:
            # No home directory to install into (a service user without one): load the file as it is.
            con.execute(f"load '{_sql_text(str(path))}'")
        else:
            con.execute(f"load {name}")


def _sql_text(value: str) -> str:
    return value.replace("'", "''")
