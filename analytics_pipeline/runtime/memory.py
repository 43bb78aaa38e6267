"""Give memory freed by a finished run back to the operating system, so a long backfill stays flat.

A backfill is dozens of Dagster runs in one process. What each run frees stays mapped to the process
unless someone returns it: CPython's collector has to run to free reference cycles (Dagster's event
objects hold many), Arrow's pool keeps freed pages for reuse when it is mimalloc or jemalloc (the system
one is the default here: see :mod:`analytics_pipeline.runtime.allocators`), and glibc's ``malloc``
keeps freed heap in its arenas, one per thread that allocated. Returning it after each run costs a few
milliseconds and keeps the peak of a two-year backfill near that of its largest single run.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import gc
from collections.abc import Callable

import pyarrow as pa


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim``, or None where the C library has none (musl, macOS)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    trim = getattr(ctypes.CDLL(name), "malloc_trim", None)
    if trim is None:
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


def release_unused_memory() -> None:
    """Collect garbage, then hand Arrow's and the C library's free memory back to the system."""
    gc.collect()
    pa.default_memory_pool().release_unused()
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
