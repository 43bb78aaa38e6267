"""Test-only entry: another process using the warehouse while the test loads it.

``python warehouse_child.py hold PATH MODE`` opens the warehouse (MODE ``ro``: read-only, as
``duckdb -readonly`` does; ``rw``: read-write, as a plain ``duckdb`` shell does; ``reader``: through
``Warehouse.reader()``, as ``export`` does), prints ``open``, then answers one command a line on stdin:
``reopen`` (close and open again, to see what was published since), ``quit``, or SQL, whose rows it
prints as one JSON line (``{"error": ...}`` if it failed).

``python warehouse_child.py commit-then-die PATH`` commits a row to ``fct_dau_count`` through
``Warehouse.writer()`` and SIGKILLs itself before the connection closes: the commit is in the WAL only.

``python warehouse_child.py die-after-publish PATH`` loads a row through ``Warehouse.writer()`` and is
SIGKILLed right after the staging copy is renamed over the warehouse, before the old WAL is removed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb

from analytics_pipeline.warehouse import Warehouse, connection


@contextlib.contextmanager
def _open(path: Path, mode: str) -> Iterator[duckdb.DuckDBPyConnection]:
    if mode == "reader":
        with Warehouse(path).reader() as con:
            yield con
    else:
        con = duckdb.connect(str(path), read_only=mode == "ro")
        try:
            yield con
        finally:
            con.close()


def _answer(con: duckdb.DuckDBPyConnection, sql: str) -> dict[str, Any]:
    try:
        return {"rows": con.execute(sql).fetchall()}
    except duckdb.Error as exc:
        return {"error": str(exc)}


def hold(path: Path, mode: str) -> None:
    stack = contextlib.ExitStack()
    con = stack.enter_context(_open(path, mode))
    print("open", flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "quit":
            break
        if command == "reopen":
            stack.close()
            stack = contextlib.ExitStack()
            con = stack.enter_context(_open(path, mode))
            print("open", flush=True)
            continue
        print(json.dumps(_answer(con, command), default=str), flush=True)
    stack.close()


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def commit_then_die(path: Path) -> None:
    with Warehouse(path).writer() as con:
        con.execute("insert into fct_dau_count values (date '2026-01-01', 41, 'default')")
        _die()


def die_after_publish(path: Path) -> None:
    real_replace = os.replace

    def replace_then_die(source: Any, target: Any) -> None:
        real_replace(source, target)
        if Path(target) == path:
            _die()

    # connection.os is the os module itself: patched for this process only.
    connection.os.replace = replace_then_die  # type: ignore[assignment]
    with Warehouse(path).writer() as con:
        con.execute("insert into fct_dau_count values ($day, 42, 'default')", {"day": dt.date(2026, 1, 2)})


if __name__ == "__main__":
    command, target, *rest = sys.argv[1:]
    if command == "hold":
        hold(Path(target), rest[0])
    elif command == "commit-then-die":
        commit_then_die(Path(target))
    elif command == "die-after-publish":
        die_after_publish(Path(target))
    else:
        raise SystemExit(f"unknown command {command!r}")
