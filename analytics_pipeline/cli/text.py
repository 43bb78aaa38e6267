"""How the commands word times and spans of days for people."""

from __future__ import annotations

import datetime as dt
import math


def duration(seconds: float) -> str:
    """``12m05s``, or ``3h07m`` from an hour on; ``unknown`` for NaN (nothing to estimate from)."""
    if math.isnan(seconds):
        return "unknown"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"


def spans(ranges: tuple[tuple[dt.date, dt.date], ...]) -> str:
    """``2026-01-01..2026-01-05, 2026-01-09..2026-01-09``, or ``none``."""
    return ", ".join(f"{lo}..{hi}" for lo, hi in ranges) if ranges else "none"
