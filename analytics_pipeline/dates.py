"""The Analytics API's date rules, in one place.

The client checks them before a request is sent and the sandbox enforces them on the way in, so both
speak with the same words. All dates are UTC calendar dates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

MAX_RANGE_DAYS = 90
"""Longest inclusive range (in days) a range endpoint accepts."""

LOOKBACK_YEARS = 2
"""How far back the API serves data."""


def utc_today(now: dt.datetime | None = None) -> dt.date:
    """Today's date in UTC (``now`` fixes the clock, for tests)."""
    moment = now if now is not None else dt.datetime.now(dt.UTC)
    if moment.tzinfo is None:
        raise ValueError("utc_today needs an aware datetime")
    return moment.astimezone(dt.UTC).date()


def yesterday(today: dt.date) -> dt.date:
    """The most recent date the API serves."""
    return today - dt.timedelta(days=1)


def lookback_floor(today: dt.date) -> dt.date:
    """The oldest date the API serves.

    "2 years" is read two ways in the wild (calendar years, or 730 days); we take the later of the two so
    that no request we send can fall outside either reading.
    """
    try:
        calendar = today.replace(year=today.year - LOOKBACK_YEARS)
    except ValueError:  # 29 February
        calendar = today.replace(year=today.year - LOOKBACK_YEARS, day=28)
    return max(calendar, today - dt.timedelta(days=365 * LOOKBACK_YEARS))


def reachable_floor(today: dt.date) -> dt.date:
    """The oldest date the pipeline asks the API for: the day after :func:`lookback_floor`.

    The API applies its lookback by its own clock, which may be on tomorrow already (past midnight UTC
    there, not yet here), its floor with it: a request reaching back to our floor would then be refused
    (400) on every run, and the valid days fetched with it never load. The day given up is the one
    that passes out of the lookback next anyway; a backfill counts it with the expired days.
    """
    return lookback_floor(today) + dt.timedelta(days=1)


def parse_date(text: str, name: str = "date") -> dt.date:
    """Parse ``YYYY-MM-DD`` strictly, with an error that names the parameter."""
    try:
        if len(text) != 10:
            raise ValueError
        return dt.date.fromisoformat(text)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a date in YYYY-MM-DD format, got {text!r}") from None


def day_problem(day: dt.date, today: dt.date, name: str = "date") -> str | None:
    """Why ``day`` may not be queried, or None when it may."""
    if day >= today:
        return f"{name} cannot be later than yesterday (UTC): {day} is not before {today}"
    floor = lookback_floor(today)
    if day < floor:
        return f"{name} {day} is beyond the 2-year lookback; the earliest queryable date is {floor}"
    return None


def range_problem(start: dt.date, end: dt.date, today: dt.date) -> str | None:
    """Why the inclusive range ``start..end`` may not be queried, or None when it may."""
    if end < start:
        return f"end_date {end} is before start_date {start}"
    problem = day_problem(end, today, "end_date") or day_problem(start, today, "start_date")
    if problem:
        return problem
    days = (end - start).days + 1
    if days > MAX_RANGE_DAYS:
        return f"date range is {days} days; the maximum is {MAX_RANGE_DAYS} days"
    return None


def days_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """Every date from ``start`` to ``end`` inclusive."""
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def contiguous_windows(days: Sequence[dt.date], size: int = MAX_RANGE_DAYS) -> list[tuple[dt.date, dt.date]]:
    """Group days into inclusive windows of consecutive days, at most ``size`` long, newest first."""
    windows: list[tuple[dt.date, dt.date]] = []
    for day in sorted(set(days), reverse=True):
        if windows:
            lo, hi = windows[-1]
            if day == lo - dt.timedelta(days=1) and (hi - day).days < size:
                windows[-1] = (day, hi)
                continue
        windows.append((day, day))
    return windows


def month_start(day: dt.date) -> dt.date:
    """The first day of ``day``'s calendar month (a month's key)."""
    return day.replace(day=1)


def month_end(day: dt.date) -> dt.date:
    """The last day of ``day``'s calendar month."""
    following = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return following - dt.timedelta(days=1)


def monthly_range(month: dt.date, today: dt.date) -> tuple[dt.date, dt.date] | None:
    """The days a month is queried for: the calendar month within what the API serves today (from
    :func:`reachable_floor`)."""
    start = max(month_start(month), reachable_floor(today))
    end = min(month_end(month), yesterday(today))
    return (start, end) if start <= end else None
