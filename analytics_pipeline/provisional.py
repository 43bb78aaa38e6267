"""Which days' numbers may still change, and which days a nightly run re-checks.

The API publishes a UTC day at about 02:00 the next morning, and analytics backends keep adding late
events to a day for a while after that. So a day is **provisional** until it has been fetched (or
re-checked) at least ``recheck_days`` days after it was first published, and **final** from then on.
Each nightly run re-checks the ``recheck_days`` days before the day it loads: with 3, a day is checked
on the three mornings after its first load, and is final after the third.

A day's *age* on a date is how many days ago it was first published then: 0 for yesterday.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection

from analytics_pipeline.dates import lookback_floor, month_end, yesterday

DEFAULT_RECHECK_DAYS = 3
MAX_RECHECK_DAYS = 30


def age(day: dt.date, on: dt.date) -> int:
    """Days between ``day``'s first publication and the morning of ``on`` (0: ``day`` is yesterday)."""
    return (yesterday(on) - day).days


def is_provisional(day: dt.date, checked_on: dt.date, recheck_days: int) -> bool:
    """Whether a daily partition fetched or re-checked on ``checked_on`` may still change."""
    return age(day, checked_on) < recheck_days


def is_provisional_month(
    month: dt.date, window_end: dt.date | None, checked_on: dt.date, recheck_days: int
) -> bool:
    """A monthly partition is provisional until it covers the whole month and its last day is final."""
    last = month_end(month)
    return window_end is None or window_end < last or is_provisional(last, checked_on, recheck_days)


def recheck_window(
    run_days: Collection[dt.date], today: dt.date, recheck_days: int, first_day: dt.date
) -> list[dt.date]:
    """The provisional days a run over ``run_days`` re-checks: the ``recheck_days`` days before its
    newest day that are still provisional today, not covered by the run itself, and not before
    ``first_day`` (the first partition) or the API's lookback. Oldest first.

    A nightly run (one day, yesterday) re-checks the days before it; a run of old days re-checks
    nothing, because those days are final.
    """
    if not run_days or recheck_days <= 0:
        return []
    newest = max(run_days)
    oldest_provisional = yesterday(today) - dt.timedelta(days=recheck_days)
    start = max(
        newest - dt.timedelta(days=recheck_days), oldest_provisional, first_day, lookback_floor(today)
    )
    days = (start + dt.timedelta(days=i) for i in range((newest - start).days))
    return [d for d in days if d not in run_days]
