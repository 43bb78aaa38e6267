"""Schema drift said where the user sees it: once per endpoint and process, on the command line too.

Unknown fields are kept in ``raw_json`` and listed in each partition's metadata; a backfill runs the raw
assets hundreds of times, so the warning is given the first time a field shows up, not per run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

log = logging.getLogger("analytics_pipeline.drift")

_warned: set[tuple[str, str]] = set()
_lock = threading.Lock()


def warn_unknown_fields(endpoint: str, fields: Iterable[str]) -> list[str]:
    """Log the fields of ``endpoint`` not warned about before in this process; returns them."""
    with _lock:
        new = sorted({f for f in fields if (endpoint, f) not in _warned})
        _warned.update((endpoint, f) for f in new)
    if new:
        log.warning(
            "%s: the API sent fields the pipeline does not know yet (kept in raw_json): %s",
            endpoint,
            ", ".join(new),
        )
    return new
