"""Each organisation's first daily partition: fixed where configured, else the first day loaded."""

import datetime as dt
import logging
from pathlib import Path

import dagster as dg
import pytest

from analytics_pipeline.config.organizations import Organization
from analytics_pipeline.config.settings import Settings
from analytics_pipeline.dates import lookback_floor, utc_today
from analytics_pipeline.defs.build import build_definitions
from analytics_pipeline.defs.first_partition import first_partition, first_partitions
from analytics_pipeline.warehouse import Warehouse

D = dt.date
FLOOR = D(2025, 3, 1)


def _org(configured: bool) -> Organization:
    return Organization(name="default", token=None, start_date=FLOOR, start_configured=configured)


@pytest.mark.parametrize(
    ("configured", "first_loaded", "expected"),
    [
        (True, D(2024, 1, 1), FLOOR),  # a configured start is the start, whatever was loaded
        (True, None, FLOOR),
        (False, None, FLOOR),  # nothing loaded yet: the lookback's floor
        (False, D(2024, 1, 1), D(2024, 1, 1)),  # loaded before the floor: every loaded day stays
        (False, D(2025, 6, 1), FLOOR),  # loaded since: the days still in reach stay, to backfill
    ],
)
def test_first_partition(configured: bool, first_loaded: D | None, expected: D) -> None:
    assert first_partition(_org(configured), first_loaded) == expected


def _settings(tmp_path: Path, **env: str) -> Settings:
    return Settings.from_env(
        {"ANALYTICS_DATA_DIR": str(tmp_path / "data"), **env}, env_file=tmp_path / "no.env"
    )


def _record(tmp_path: Path, endpoint: str, day: D, organization: str = "default") -> None:
    with Warehouse(tmp_path / "data" / "warehouse.duckdb").writer() as con:
        con.execute(
            "insert into pipeline_partitions (endpoint, date, rows, requests, pages, status, fetched_at, "
            "loaded_at, organization) values (?, ?, 0, 1, 1, 'empty', now(), now(), ?)",
            [endpoint, day, organization],
        )


def test_the_first_day_loaded_is_read_from_the_warehouse(tmp_path: Path) -> None:
    old = lookback_floor(utc_today()) - dt.timedelta(days=100)
    (tmp_path / "data").mkdir()
    _record(tmp_path, "dau", old + dt.timedelta(days=3))
    _record(tmp_path, "credit_usage", old + dt.timedelta(days=1))
    _record(tmp_path, "user_activity_monthly", old.replace(day=1) - dt.timedelta(days=31))  # a month: no
    _record(tmp_path, "dau", old - dt.timedelta(days=50), organization="acme")  # another organisation's
    settings = _settings(tmp_path)
    assert first_partitions(settings) == {"default": old + dt.timedelta(days=1)}
    partitions = build_definitions(settings).resolve_asset_graph().get(dg.AssetKey("raw_dau")).partitions_def
    assert partitions is not None
    assert partitions.get_first_partition_key() == (old + dt.timedelta(days=1)).isoformat()


def test_a_configured_start_needs_no_warehouse_and_an_empty_one_gives_the_floor(tmp_path: Path) -> None:
    assert first_partitions(_settings(tmp_path, ANALYTICS_START_DATE="2021-05-05")) == {
        "default": D(2021, 5, 5)
    }
    assert first_partitions(_settings(tmp_path)) == {"default": lookback_floor(utc_today())}


def test_an_unreadable_warehouse_never_stops_the_code_location(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "warehouse.duckdb").write_bytes(b"not a database" * 100)
    with caplog.at_level(logging.WARNING, logger="dagster"):
        starts = first_partitions(_settings(tmp_path))
    assert starts == {"default": lookback_floor(utc_today())}
    assert "could not read the first day loaded" in caplog.text
    assert "until the code location loads again" in caplog.text
