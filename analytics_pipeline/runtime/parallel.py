"""Work per organisation, all at once: each organisation's requests spend its own token's budget, so N
organisations fetch N times as much a minute (their loads take turns on the warehouse's writer)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def each_at_once(names: Sequence[str], work: Callable[[str], T]) -> dict[str, T]:
    """``work(name)`` for every name, each in a thread of its own; the results by name.

    Every thread runs to its end, so that none is cut off in the middle of a partition; then the first
    failure in ``names``' order is raised. One name runs in the calling thread.
    """
    if len(names) == 1:
        return {names[0]: work(names[0])}
    results: dict[str, T] = {}
    errors: dict[str, BaseException] = {}

    def one(name: str) -> None:
        try:
            results[name] = work(name)
        except BaseException as exc:  # re-raised below, in the calling thread
            errors[name] = exc

    threads = [threading.Thread(target=one, args=(name,), name=f"org-{name}", daemon=True) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for name in names:
        if name in errors:
            raise errors[name]
    return {name: results[name] for name in names}
