import datetime as dt

import pytest

from analytics_pipeline.dates import (
    contiguous_windows,
    day_problem,
    days_between,
    lookback_floor,
    parse_date,
    range_problem,
    reachable_floor,
    utc_today,
)

D = dt.date
TODAY = D(2026, 11, 20)


@pytest.mark.parametrize(
    ("today", "floor"),
    [
        (D(2026, 11, 20), D(2024, 11, 20)),
        # 730 days back from 2025-03-01 is 2023-03-02, later than the calendar reading (2023-03-01).
        (D(2025, 3, 1), D(2023, 3, 2)),
        (D(2028, 2, 29), D(2026, 3, 1)),  # calendar reading: 2026-02-28
    ],
)
def test_lookback_floor_takes_the_later_reading(today: dt.date, floor: dt.date) -> None:
    assert lookback_floor(today) == floor


@pytest.mark.parametrize(
    ("start", "end", "fragment"),
    [
        (D(2026, 11, 10), D(2026, 11, 19), None),
        (D(2026, 8, 22), D(2026, 11, 19), None),  # exactly 90 days
        (D(2026, 8, 21), D(2026, 11, 19), "91 days; the maximum is 90"),
        (D(2026, 11, 10), D(2026, 11, 20), "cannot be later than yesterday"),
        (D(2026, 11, 19), D(2026, 11, 10), "before start_date"),
        (D(2024, 11, 19), D(2024, 12, 1), "beyond the 2-year lookback"),
    ],
)
def test_range_rules(start: dt.date, end: dt.date, fragment: str | None) -> None:
    problem = range_problem(start, end, TODAY)
    if fragment is None:
        assert problem is None
    else:
        assert problem is not None and fragment in problem


def test_day_rules() -> None:
    assert day_problem(D(2026, 11, 19), TODAY) is None
    assert "yesterday" in (day_problem(TODAY, TODAY) or "")
    assert "lookback" in (day_problem(D(2020, 1, 1), TODAY) or "")


@pytest.mark.parametrize("text", ["2026-1-01", "20261101", "yesterday", "", "2026-02-30"])
def test_parse_date_refuses_loose_formats(text: str) -> None:
    with pytest.raises(ValueError, match="--start must be a date in YYYY-MM-DD"):
        parse_date(text, "--start")


def test_utc_today_uses_utc() -> None:
    late_evening_in_la = dt.datetime(2026, 11, 20, 20, 0, tzinfo=dt.timezone(dt.timedelta(hours=-8)))
    assert utc_today(late_evening_in_la) == D(2026, 11, 21)


def test_contiguous_windows_newest_first_and_capped() -> None:
    days = days_between(D(2026, 1, 1), D(2026, 6, 30))
    windows = contiguous_windows(days, 90)
    assert windows[0] == (D(2026, 4, 2), D(2026, 6, 30))
    assert windows[-1][0] == D(2026, 1, 1)
    assert sum((e - s).days + 1 for s, e in windows) == len(days)
    assert all((e - s).days < 90 for s, e in windows)


def test_contiguous_windows_split_at_gaps() -> None:
    days = [D(2026, 1, 1), D(2026, 1, 2), D(2026, 1, 5)]
    assert contiguous_windows(days) == [(D(2026, 1, 5), D(2026, 1, 5)), (D(2026, 1, 1), D(2026, 1, 2))]


def test_the_reachable_floor_is_a_day_inside_the_lookback() -> None:
    assert reachable_floor(D(2026, 11, 20)) == lookback_floor(D(2026, 11, 20)) + dt.timedelta(days=1)
    # what an API a day ahead still serves
    assert day_problem(reachable_floor(D(2026, 11, 20)), D(2026, 11, 21)) is None
