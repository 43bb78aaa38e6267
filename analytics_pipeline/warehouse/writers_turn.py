"""The DuckLake writers' turn: a PostgreSQL advisory lock on the lake's catalog database.

The file warehouse's writers take turns on a lock file beside it; a DuckLake's writers may run on any
host, so they take turns on the one thing they all reach, the catalog. DuckLake would let two writers
commit at once and retry on conflicts, but a load deletes and inserts a day's rows and the analysis
layer replaces views and macros: taking turns keeps every commit as simple as on the file. Readers
never take it.

The lock belongs to a session of its own, held for as long as the writer is open: a writer killed
mid-load loses its session, and with it the lock, so a dead writer never holds up the next one; a
writer that finishes closes its session the same way.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg2

from analytics_pipeline.config.warehouse_url import LakeUrl

LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"analytics-pipeline:warehouse-writers").digest()[:8], "big", signed=True
)
"""The advisory lock's key: a fixed 64-bit number, the same in every process of every version."""

TRY_LOCK = "select pg_try_advisory_lock(%(key)s)"

_FIRST_RETRY = 0.05
_MAX_RETRY = 1.0


class TurnTimeout(TimeoutError):
    """Another writer held the turn for longer than this one would wait."""


@contextmanager
def writers_turn(
    lake: LakeUrl, *, timeout: float, sleep: Callable[[float], None] = time.sleep
) -> Iterator[None]:
    """Hold the lake's writers' turn for the block; :class:`TurnTimeout` after ``timeout`` seconds.

    Connection errors are raised as :mod:`psycopg2` raises them (the caller redacts and reports them).
    """
    con = psycopg2.connect(lake.reveal(), application_name="analytics-pipeline writer")
    try:
        con.autocommit = True
        deadline = time.monotonic() + timeout
        delay = _FIRST_RETRY
        with con.cursor() as cur:
            while True:
                cur.execute(TRY_LOCK, {"key": LOCK_KEY})
                if cur.fetchone() == (True,):
                    break
                if time.monotonic() >= deadline:
                    raise TurnTimeout
                sleep(delay)
                delay = min(delay * 2, _MAX_RETRY)
        yield
    finally:
        con.close()  # ends the session, and with it the lock (even when the connection is broken)
