"""Search every artifact of a run for a secret or a personal datum, compressed and encoded forms too;
and list the files others could read.

Bytes on disk are not enough: Parquet pages are zstd-compressed, DuckDB compresses its columns, and
Dagster stores its run and job snapshots zlib-compressed in SQLite. So each file is searched as bytes
and, by kind, as the values it holds once decoded.
"""

from __future__ import annotations

import base64
import contextlib
import sqlite3
import stat
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import duckdb
import pyarrow.parquet as pq


def encoded_forms(secret: str) -> set[str]:
    """The secret as text might carry it: plain, URL-encoded, JSON-escaped, hex, and base64 at every
    alignment (the full 3-byte blocks of the secret from offsets 0, 1 and 2 appear in any base64 text
    that encodes it)."""
    raw = secret.encode()
    forms = {secret, quote(secret, safe=""), quote_plus(secret), secret.replace("/", "\\/"), raw.hex()}
    for offset in range(3):
        blocks = raw[offset : offset + (len(raw) - offset) // 3 * 3]
        forms.add(base64.b64encode(blocks).decode())
        forms.add(base64.urlsafe_b64encode(blocks).decode())
    return forms


def _sqlite_values(path: Path) -> Iterator[str]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [name for (name,) in con.execute("select name from sqlite_master where type = 'table'")]
        for table in tables:
            for row in con.execute(f'select * from "{table}"'):
                for value in row:
                    if isinstance(value, bytes):
                        with contextlib.suppress(zlib.error):
                            value = zlib.decompress(value)
                        value = value.decode("utf-8", "replace")
                    yield str(value)
    finally:
        con.close()


def _duckdb_values(path: Path) -> Iterator[str]:
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = current_database()"
        ).fetchall()
        for schema, table in tables:
            yield str(con.execute(f'select * from "{schema}"."{table}"').fetchall())


def _parquet_values(path: Path) -> Iterator[str]:
    yield str(pq.read_table(path).to_pylist())
    yield str(pq.read_metadata(path).metadata)


def texts_of(path: Path) -> Iterator[str]:
    """The file's bytes (as text), then what it holds once decoded, for the kinds that compress."""
    data = path.read_bytes()
    yield data.decode("utf-8", "replace")
    if data.startswith(b"SQLite format 3\0"):
        yield from _sqlite_values(path)
    elif path.suffix == ".duckdb":
        yield from _duckdb_values(path)
    elif data.startswith(b"PAR1"):
        yield from _parquet_values(path)


def traces(needles: Iterable[str], roots: Iterable[Path] = (), texts: Iterable[str] = ()) -> list[str]:
    """Where any needle occurs: every file under ``roots``, and ``texts`` (captured output and logs)."""
    needles = sorted({n.lower() for n in needles})
    found: list[str] = []

    def search(where: str, text: str) -> None:
        text = text.lower()
        found.extend(f"{where}: {needle!r}" for needle in needles if needle in text)

    for root in roots:
        for path in sorted(p for p in Path(root).rglob("*") if p.is_file()):
            for text in texts_of(path):
                search(str(path), text)
    for i, text in enumerate(texts):
        search(f"captured text #{i}", text)
    return found


def loose_modes(root: Path) -> list[str]:
    """Files group or other may touch, and directories that are not exactly 0700 (``root`` included)."""
    loose = []
    for path in [root, *root.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        if (path.is_dir() and mode != 0o700) or (not path.is_dir() and mode & 0o077):
            loose.append(f"{oct(mode)} {path}")
    return loose
