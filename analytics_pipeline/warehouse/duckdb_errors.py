"""What a DuckDB error means for the warehouse: the file held by another connection, or out of memory.

DuckDB says some of this by type only in part. A lock held by another process is an ``IOException``
like any failed read; a connection refused because this same process has the file open in the other
mode (DuckDB shares one database per file and process) is a ``ConnectionException``; a commit, or the
checkpoint after it, that ran out of memory is a ``TransactionException`` or a ``FatalException``. So
their messages are read, here and nowhere else: :mod:`~analytics_pipeline.warehouse.connection` turns
a held file into :class:`~analytics_pipeline.warehouse.WarehouseBusy`, and
:mod:`~analytics_pipeline.warehouse.headroom` runs out-of-memory work again with more.
"""

from __future__ import annotations

import os
import re

import duckdb

_LOCK_CONFLICT = "could not set lock"
_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")
_OTHER_MODE_HERE = "different configuration than existing connections"

_SHORT_OF_MEMORY = r"(could not allocate|failed to allocate|failed to pin|out of memory)"
_COMMIT_OUT_OF_MEMORY = re.compile(rf"failed to commit: .*{_SHORT_OF_MEMORY}", re.IGNORECASE)
_CHECKPOINT_OUT_OF_MEMORY = re.compile(rf"failed to create checkpoint .*{_SHORT_OF_MEMORY}", re.IGNORECASE)


def is_lock_conflict(exc: BaseException) -> bool:
    """Whether another process holds the file in a mode that keeps this connection out."""
    return isinstance(exc, duckdb.IOException) and _LOCK_CONFLICT in str(exc).lower()


def is_held_in_this_process(exc: BaseException) -> bool:
    """Whether this process already has the file open in the other mode (or with other settings).

    DuckDB gives every connection to a file in one process the same database, opened once: a
    read-only connection while a writer is open here (or the reverse) is refused, not waited for.
    """
    return isinstance(exc, duckdb.ConnectionException) and _OTHER_MODE_HERE in str(exc)


def is_held_elsewhere(exc: BaseException) -> bool:
    """Whether the connection was refused only because someone else has the file open: worth a wait."""
    return is_lock_conflict(exc) or is_held_in_this_process(exc)


def holder(exc: BaseException) -> str:
    """Who holds the file, as a sentence's object: ``another process (/usr/bin/duckdb, PID 42)``."""
    if is_held_in_this_process(exc):
        return f"this process (PID {os.getpid()})"
    found = _HOLDER.search(str(exc))
    return f"another process ({found['program']}, PID {found['pid']})" if found else "another process"


def is_out_of_memory(exc: BaseException) -> bool:
    """Whether DuckDB ran out of its cap: a statement says so by type, a commit and the checkpoint that
    may follow it (a fatal error: the connection is closed and the commit not kept) only in their text."""
    if isinstance(exc, duckdb.OutOfMemoryException):
        return True
    if isinstance(exc, duckdb.TransactionException):
        return bool(_COMMIT_OUT_OF_MEMORY.search(str(exc)))
    return isinstance(exc, duckdb.FatalException) and bool(_CHECKPOINT_OUT_OF_MEMORY.search(str(exc)))
