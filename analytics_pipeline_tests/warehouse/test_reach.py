"""Days beyond the API's reach: not loaded and older than its 2-year lookback, they are not missing."""

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from analytics_pipeline.dates import lookback_floor
from analytics_pipeline.warehouse import Warehouse

D = dt.date
ANALYSIS_ENDPOINTS = ("credit_usage", "dau", "editor_language", "user_activity")


def _record(con: duckdb.DuckDBPyConnection, day: D, fetched_on: D, endpoints=ANALYSIS_ENDPOINTS) -> None:
    for endpoint in endpoints:
        con.execute(
            "insert into pipeline_partitions (endpoint, date, rows, requests, pages, status, fetched_at, "
            "loaded_at, organization) values (?, ?, 0, 1, 1, 'empty', ?, now(), 'default')",
            [endpoint, day, dt.datetime.combine(fetched_on, dt.time(2, 30), dt.UTC)],
        )


@pytest.mark.parametrize(
    "today", [D(2096, 2, 29), D(2096, 3, 1), D(2097, 3, 1), D(2098, 12, 31), D(2098, 2, 28)]
)
def test_the_reach_floor_is_the_pipelines_lookback_floor(tmp_path: Path, today: D) -> None:
    """The SQL floor agrees with dates.lookback_floor, leap days included, on the newest fetch's date (a
    date later than this machine's today)."""
    with Warehouse(tmp_path / "warehouse.duckdb").writer() as con:
        _record(con, today - dt.timedelta(days=1), today, ("dau",))
        assert con.execute("select analysis_api_today(), analysis_reach_floor()").fetchone() == (
            today,
            lookback_floor(today),
        )


def test_days_beyond_reach_are_neither_loaded_nor_missing(tmp_path: Path) -> None:
    today = D(2096, 6, 15)
    floor = lookback_floor(today)
    old, recent = floor - dt.timedelta(days=3), floor + dt.timedelta(days=1)
    with Warehouse(tmp_path / "warehouse.duckdb").writer() as con:
        _record(con, old, old + dt.timedelta(days=1))  # loaded while the API still served it
        _record(con, floor - dt.timedelta(days=1), today, ("dau",))  # partly loaded: the rest is lost
        _record(con, recent, today)
        calendar = con.execute(
            "select date, loaded, beyond_reach from analysis_calendar(?, ?)",
            [old, floor + dt.timedelta(days=3)],
        ).fetchall()
        summary = con.execute(
            "select days_in_range, days_loaded, days_missing, days_beyond_reach from usage_summary(?, ?)",
            [old, floor + dt.timedelta(days=3)],
        ).fetchone()
        weekly = con.execute(
            "select sum(days_missing), sum(days_beyond_reach) from usage_timeseries('day', ?, ?)",
            [old, floor + dt.timedelta(days=3)],
        ).fetchone()
    assert calendar == [
        (old, True, False),  # loaded long ago: kept, and loaded
        (old + dt.timedelta(days=1), False, True),
        (floor - dt.timedelta(days=1), False, True),
        (floor, False, False),  # the API still serves it: missing
        (recent, True, False),
        (floor + dt.timedelta(days=2), False, False),
        (floor + dt.timedelta(days=3), False, False),
    ]
    assert summary == (7, 2, 3, 2)
    assert weekly == (3, 2)
