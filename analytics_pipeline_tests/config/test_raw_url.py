"""ANALYTICS_RAW_URL and the AWS settings: what is accepted, what is refused in one line, and the secret
key kept out of every repr, error and DuckDB listing."""

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from analytics_pipeline.config.raw_url import LocalRaw, S3Raw, raw_location
from analytics_pipeline.config.s3 import S3Endpoint, S3Settings
from analytics_pipeline.config.settings import ConfigError, Settings
from analytics_pipeline.defs.build import storage_resource
from analytics_pipeline.warehouse.extensions import load_extensions

SECRET = "s3cr3t/with'quote-and-more"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": SECRET}
DATA = Path("/srv/usage")


def settings(**env: str) -> Settings:
    return Settings.from_env(env, today=dt.date(2026, 11, 20), env_file=Path("/nonexistent/.env"))


def test_unset_is_raw_in_the_data_directory_as_before() -> None:
    assert raw_location({}, DATA) == LocalRaw(DATA / "raw")
    assert settings(ANALYTICS_DATA_DIR=str(DATA)).raw == LocalRaw(DATA / "raw")
    assert storage_resource(settings(ANALYTICS_DATA_DIR=str(DATA))).raw_store().root == DATA / "raw"


@pytest.mark.parametrize(
    ("text", "root"),
    [
        ("/mnt/shared/raw", Path("/mnt/shared/raw")),
        ("relative/raw", Path("relative/raw")),
        ("file:///mnt/shared/raw", Path("/mnt/shared/raw")),
        ("  /mnt/shared/raw \n", Path("/mnt/shared/raw")),
    ],
)
def test_a_path_is_a_folder(text: str, root: Path) -> None:
    assert raw_location({"ANALYTICS_RAW_URL": text}, DATA) == LocalRaw(root)


@pytest.mark.parametrize(
    ("text", "bucket", "prefix"),
    [
        ("s3://analytics-raw/team/usage", "analytics-raw", "team/usage"),
        ("s3://analytics-raw/team/usage/", "analytics-raw", "team/usage"),
        ("s3://analytics-raw", "analytics-raw", ""),
    ],
)
def test_an_s3_url_is_a_bucket_and_prefix(text: str, bucket: str, prefix: str) -> None:
    location = raw_location({"ANALYTICS_RAW_URL": text, **CREDENTIALS}, DATA)
    assert isinstance(location, S3Raw)
    assert (location.bucket, location.prefix) == (bucket, prefix)
    assert location.url == f"s3://{bucket}/{prefix}".rstrip("/")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("ftp://host/raw", "its scheme is 'ftp'"),
        ("https://bucket.s3.amazonaws.com/raw", "its scheme is 'https'"),
        ("s3://", "names no bucket"),
        ("s3:///prefix", "names no bucket"),
        ("s3://AKIA:hunter2@bucket/raw", "must not carry credentials"),
        ("s3://Bad_Bucket/raw", "names a bucket S3 does not allow"),
        ("s3://bucket/a/../b", "'..'"),
        ("file://otherhost/raw", "file:///absolute/path"),
    ],
)
def test_anything_else_is_one_line_naming_the_variable(text: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as raised:
        settings(ANALYTICS_RAW_URL=text, **CREDENTIALS)
    message = str(raised.value)
    assert message.startswith("ANALYTICS_RAW_URL ") and "\n" not in message
    assert fragment in message and "hunter2" not in message
    assert raised.value.exit_code == 2


@pytest.mark.parametrize(
    ("env", "missing"),
    [
        ({}, "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY is not set"),
        ({"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE"}, "AWS_SECRET_ACCESS_KEY is not set"),
        ({"AWS_SECRET_ACCESS_KEY": SECRET}, "AWS_ACCESS_KEY_ID is not set"),
    ],
)
def test_an_s3_url_without_credentials_is_refused(env: dict[str, str], missing: str) -> None:
    with pytest.raises(ConfigError, match=missing) as raised:
        settings(ANALYTICS_RAW_URL="s3://bucket/raw", **env)
    assert "ANALYTICS_RAW_URL is an s3:// URL" in str(raised.value) and SECRET not in str(raised.value)


def test_region_and_endpoint_follow_the_aws_sdks_precedence() -> None:
    s3 = S3Settings.from_env(
        {
            **CREDENTIALS,
            "AWS_SESSION_TOKEN": "session-token",
            "AWS_REGION": "eu-west-3",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": "https://general.example.com",
            "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9000",
        },
        needed_by="ANALYTICS_RAW_URL",
    )
    assert s3.region == "eu-west-3"
    assert s3.endpoint == S3Endpoint("http", "127.0.0.1:9000")
    assert s3.session_token is not None and s3.session_token.reveal() == "session-token"
    fallback = S3Settings.from_env(
        {**CREDENTIALS, "AWS_DEFAULT_REGION": "us-east-2", "AWS_ENDPOINT_URL": "https://minio.example.com"},
        needed_by="ANALYTICS_RAW_URL",
    )
    assert (fallback.region, fallback.endpoint) == ("us-east-2", S3Endpoint("https", "minio.example.com"))


@pytest.mark.parametrize("endpoint", ["minio:9000", "https://AKIA:pw@minio:9000", "https://minio/bucket"])
def test_a_bad_endpoint_is_one_line_without_quoting_it(endpoint: str) -> None:
    with pytest.raises(ConfigError, match="AWS_ENDPOINT_URL must be") as raised:
        settings(ANALYTICS_RAW_URL="s3://bucket/raw", AWS_ENDPOINT_URL=endpoint, **CREDENTIALS)
    assert endpoint not in str(raised.value)


def test_the_secret_key_is_in_no_repr_and_not_in_the_dagster_configuration() -> None:
    s = settings(ANALYTICS_RAW_URL="s3://bucket/raw", **CREDENTIALS)
    assert SECRET not in repr(s) and "AKIAEXAMPLE" not in repr(s)
    storage = storage_resource(s)
    assert storage.raw_url == "s3://bucket/raw"
    assert SECRET not in repr(storage.model_dump())


def test_the_duckdb_secret_takes_any_value_and_never_shows_it() -> None:
    s3 = S3Settings.from_env(
        {**CREDENTIALS, "AWS_SESSION_TOKEN": "tok'en", "AWS_ENDPOINT_URL": "http://127.0.0.1:9000"},
        needed_by="ANALYTICS_RAW_URL",
    )
    con = duckdb.connect()
    load_extensions(con, "httpfs")
    s3.create_duckdb_secret(con, "analytics_raw", "s3://bucket/raw")
    listed = con.execute("select name, scope, secret_string from duckdb_secrets()").fetchall()
    assert [(name, scope) for name, scope, _ in listed] == [("analytics_raw", ["s3://bucket/raw"])]
    assert SECRET not in str(listed) and "tok'en" not in str(listed)
    # A quote in a value neither breaks the statement nor leaks: DuckDB refuses to show secrets unredacted.
    with pytest.raises(duckdb.InvalidInputException):
        con.execute("select secret_string from duckdb_secrets(redact := false)")
    which = "select name from which_secret($url, 's3')"
    assert con.execute(which, {"url": "s3://bucket/raw/dau/x.parquet"}).fetchall() == [("analytics_raw",)]
    assert con.execute(which, {"url": "s3://other/x"}).fetchall() == []
