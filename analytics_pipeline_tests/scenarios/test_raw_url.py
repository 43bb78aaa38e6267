"""``ANALYTICS_RAW_URL`` end to end: ``analytics-pipeline backfill`` against the sandbox with raw partitions
on S3 (a real S3-compatible server on loopback) or on a shared path gives the warehouse a plain run gives;
bad values stop in one line before anything is written; the secret key never shows; and a data directory
whose raw partitions are under ``raw/`` keeps working with the variable unset, without fetching again."""

import datetime as dt
from pathlib import Path

import pytest

from analytics_pipeline.api.endpoints import ASSET_ENDPOINTS
from analytics_pipeline.config.raw_url import raw_location
from analytics_pipeline.dates import utc_today, yesterday
from analytics_pipeline.landing import RawStore
from analytics_pipeline.sandbox import SandboxServer
from analytics_pipeline_tests.conftest import assert_one_line_error, run_cli, sandbox_env, warehouse_snapshot
from analytics_pipeline_tests.s3_server import SECRET_ACCESS_KEY, S3Server

pytestmark = pytest.mark.usefixtures("clean_environment")

END = yesterday(utc_today())
START = END - dt.timedelta(days=2)
RANGE = ("--start", START.isoformat(), "--end", END.isoformat())


@pytest.fixture(scope="module")
def plain(sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple]]:
    """The warehouse of a plain run (raw under the data directory) over the same days."""
    base = tmp_path_factory.mktemp("plain")
    result = run_cli("backfill", *RANGE, env=sandbox_env(sandbox, base))
    assert result.exit_code == 0, result.output
    return warehouse_snapshot(base / "data")


def files_holding(folder: Path, text: str) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and text.encode() in p.read_bytes()]


def test_a_backfill_with_raw_on_s3_gives_the_plain_warehouse(
    sandbox: SandboxServer, s3_server: S3Server, tmp_path: Path, plain: dict[str, list[tuple]]
) -> None:
    bucket = s3_server.create_bucket()
    env = {**sandbox_env(sandbox, tmp_path), **s3_server.env(), "ANALYTICS_RAW_URL": f"s3://{bucket}/raw"}
    result = run_cli("backfill", *RANGE, env=env)
    assert result.exit_code == 0, result.output
    assert warehouse_snapshot(tmp_path / "data") == plain
    store = RawStore.at(raw_location(env, tmp_path / "data"))
    for endpoint in ASSET_ENDPOINTS:
        assert store.landed_days(endpoint), endpoint.name
    assert not (tmp_path / "data" / "raw").exists()
    assert SECRET_ACCESS_KEY not in result.output and files_holding(tmp_path, SECRET_ACCESS_KEY) == []
    again = run_cli("backfill", *RANGE, env=env)  # resumes from what is on S3: nothing to fetch
    assert "3 already loaded, 0 runs, 0 requests" in again.output, again.output
    (tmp_path / "data" / "warehouse.duckdb").unlink()
    rebuilt = run_cli("rebuild", env=env)  # the warehouse again from S3, without a request
    assert rebuilt.exit_code == 0 and f"from s3://{bucket}/raw, without a request" in rebuilt.output
    assert warehouse_snapshot(tmp_path / "data") == plain and SECRET_ACCESS_KEY not in rebuilt.output


def test_a_shared_path_holds_the_raw_partitions_and_the_data_directory_none(
    sandbox: SandboxServer, tmp_path: Path, plain: dict[str, list[tuple]]
) -> None:
    shared = tmp_path / "shared" / "raw"
    env = {**sandbox_env(sandbox, tmp_path), "ANALYTICS_RAW_URL": str(shared)}
    result = run_cli("backfill", *RANGE, env=env)
    assert result.exit_code == 0, result.output
    assert warehouse_snapshot(tmp_path / "data") == plain
    assert all(RawStore(shared).landed_days(e) for e in ASSET_ENDPOINTS)
    assert not (tmp_path / "data" / "raw").exists()


def test_a_data_directory_with_raw_inside_keeps_working_without_fetching_again(
    sandbox: SandboxServer, tmp_path: Path, plain: dict[str, list[tuple]]
) -> None:
    env = sandbox_env(sandbox, tmp_path)
    assert run_cli("backfill", *RANGE, env=env).exit_code == 0
    (tmp_path / "data" / "warehouse.duckdb").unlink()  # the warehouse rebuilt from raw/ alone
    before = sandbox.stats.total
    result = run_cli("backfill", *RANGE, env=env)
    assert result.exit_code == 0, result.output
    assert sandbox.stats.total == before
    assert warehouse_snapshot(tmp_path / "data") == plain


@pytest.mark.parametrize(
    ("raw_url", "aws", "fragment"),
    [
        ("gs://bucket/raw", False, "ANALYTICS_RAW_URL must be a path such as"),
        ("s3://bucket/raw", False, "ANALYTICS_RAW_URL is an s3:// URL but AWS_ACCESS_KEY_ID"),
        ("s3:///raw", True, "ANALYTICS_RAW_URL names no bucket"),
    ],
)
def test_a_bad_raw_url_is_one_line_and_writes_nothing(
    sandbox: SandboxServer, s3_server: S3Server, tmp_path: Path, raw_url: str, aws: bool, fragment: str
) -> None:
    env = {**sandbox_env(sandbox, tmp_path), "ANALYTICS_RAW_URL": raw_url}
    if aws:
        env |= s3_server.env()
    before = sandbox.stats.total
    result = run_cli("backfill", *RANGE, env=env)
    assert_one_line_error(result, fragment)
    assert SECRET_ACCESS_KEY not in result.output
    assert not (tmp_path / "data").exists() and sandbox.stats.total == before


@pytest.mark.parametrize(
    ("bucket", "endpoint", "fragment"),
    [
        ("no-such-bucket-here", None, "names the bucket 'no-such-bucket-here', which does not exist there"),
        ("analytics-raw", "http://127.0.0.1:9", "cannot be reached (When getting information for bucket"),
    ],
)
@pytest.mark.parametrize("command", ["backfill", "nightly"])
def test_a_bucket_that_cannot_be_reached_stops_before_any_request(
    sandbox: SandboxServer,
    s3_server: S3Server,
    tmp_path: Path,
    bucket: str,
    endpoint: str | None,
    fragment: str,
    command: str,
) -> None:
    env = {**sandbox_env(sandbox, tmp_path), **s3_server.env(), "ANALYTICS_RAW_URL": f"s3://{bucket}/raw"}
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    before = sandbox.stats.total
    result = run_cli(command, *(RANGE if command == "backfill" else ()), env=env)
    assert_one_line_error(result, fragment)
    assert SECRET_ACCESS_KEY not in result.output
    assert not (tmp_path / "data").exists() and sandbox.stats.total == before
