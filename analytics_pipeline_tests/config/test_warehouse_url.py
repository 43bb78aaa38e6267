"""ANALYTICS_WAREHOUSE_URL and ANALYTICS_LAKE_DATA_PATH: parsed once, refused in one line, the password
never shown."""

from pathlib import Path

import pytest

from analytics_pipeline.config.settings import ConfigError, LocalSettings, Settings
from analytics_pipeline.config.warehouse_url import LakeUrl, parse_warehouse_url

CONNINFO = "host=db.internal port=5433 dbname=lake user=etl password='s3cr3t pass'"


def test_unset_is_the_file(tmp_path: Path) -> None:
    assert parse_warehouse_url(None, None) is None
    assert parse_warehouse_url("  ", "") is None
    env = {"ANALYTICS_DATA_DIR": str(tmp_path)}
    assert Settings.from_env(env, env_file=tmp_path / "none").warehouse_url is None
    assert LocalSettings.from_env(env, env_file=tmp_path / "none").warehouse_url is None


def test_a_ducklake_url_keeps_its_password_to_itself(tmp_path: Path) -> None:
    lake = parse_warehouse_url(f"ducklake:postgres:{CONNINFO}", str(tmp_path))
    assert isinstance(lake, LakeUrl)
    assert lake.password == "s3cr3t pass"
    assert "s3cr3t" not in lake.conninfo and "dbname=lake" in lake.conninfo
    assert "s3cr3t" not in repr(lake) + str(lake) + lake.display
    assert lake.data_path == str(tmp_path.absolute()) + "/"
    assert not lake.is_s3
    echoed = "could not connect: host=db.internal password='s3cr3t pass' dbname=lake; s3cr3t pass"
    assert "s3cr3t" not in lake.redact(echoed)
    env = {
        "ANALYTICS_WAREHOUSE_URL": f"ducklake:postgres:{CONNINFO}",
        "ANALYTICS_LAKE_DATA_PATH": str(tmp_path),
    }
    assert Settings.from_env(env, env_file=tmp_path / "none").warehouse_url == lake


def test_an_s3_data_path_is_kept_as_a_url() -> None:
    lake = parse_warehouse_url(f"ducklake:postgres:{CONNINFO}", "s3://bucket/lake")
    assert lake is not None and lake.is_s3 and lake.data_path == "s3://bucket/lake/"


@pytest.mark.parametrize(
    ("url", "data_path", "fragment"),
    [
        ("postgresql://etl:s3cr3t@db/lake", "DIR", "must be unset (the file <data dir>/warehouse.duckdb) or"),
        ("ducklake:sqlite:lake.db", "DIR", "does not start with ducklake:postgres:"),
        ("ducklake:postgres:", "DIR", "has no connection string"),
        ("ducklake:postgres:host=db s3cr3t", "DIR", "is not a valid libpq key=value string"),
        (f"ducklake:postgres:{CONNINFO}", "", "ANALYTICS_LAKE_DATA_PATH is not set"),
        (f"ducklake:postgres:{CONNINFO}", "DIR/missing", "is not an existing directory"),
        (f"ducklake:postgres:{CONNINFO}", "s3://", "names no bucket"),
        (f"ducklake:postgres:{CONNINFO}", "https://example.com/lake", "https:// is not supported"),
        ("", "DIR", "ANALYTICS_LAKE_DATA_PATH is set but ANALYTICS_WAREHOUSE_URL is not"),
    ],
)
def test_bad_values_are_one_line_naming_the_variable_never_the_password(
    tmp_path: Path, url: str, data_path: str, fragment: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_warehouse_url(url, data_path.replace("DIR", str(tmp_path)))
    message = str(raised.value)
    assert fragment in message
    assert "\n" not in message and "s3cr3t" not in message
    assert raised.value.exit_code == 2
