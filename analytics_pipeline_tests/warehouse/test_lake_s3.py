"""A DuckLake whose data path is ``s3://bucket/prefix``, on a real S3-compatible server on loopback: a
backfill gives the rows of a file run, its Parquet files objects in the bucket (raw partitions in the data
directory, or on S3 too); readers need only the variables; no credentials is one line before any request
or write; and the secret key shows nowhere."""

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow.fs as pafs
import pytest

from analytics_pipeline.api.endpoints import ASSET_ENDPOINTS
from analytics_pipeline.sandbox import SandboxServer
from analytics_pipeline.warehouse import LakeWarehouse, Warehouse
from analytics_pipeline_tests.conftest import assert_one_line_error, run_cli, sandbox_env
from analytics_pipeline_tests.postgres_server import PostgresServer
from analytics_pipeline_tests.s3_server import SECRET_ACCESS_KEY, S3Server
from analytics_pipeline_tests.scenarios.test_raw_url import files_holding
from analytics_pipeline_tests.warehouse.test_lake import NEW_YEAR, lake_env, lake_of, snapshot

START, END = NEW_YEAR - dt.timedelta(days=1), NEW_YEAR  # a new month, and a holiday
RANGE = ("--start", str(START), "--end", str(END))
NO_AWS: dict[str, str | None] = dict.fromkeys(
    (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_S3",
    )
)
"""Every AWS variable unset (as CliRunner's ``env`` takes it), whatever the caller's environment holds."""
MARKERS = {".emails", ".source", ".state"}
"""What a backfill keeps in the data directory besides raw partitions (which landed data it holds, the
rate limiter's state): nothing of the warehouse."""


@dataclass
class FileRun:
    env: dict[str, str]
    warehouse: Warehouse


@pytest.fixture(scope="module")
def file_run(sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> FileRun:
    """The same days backfilled into the warehouse file."""
    env = sandbox_env(sandbox, tmp_path_factory.mktemp("file"))
    result = run_cli("backfill", *RANGE, env=env)
    assert result.exit_code == 0, result.output
    return FileRun(env, Warehouse(Path(env["ANALYTICS_DATA_DIR"]) / "warehouse.duckdb"))


def lake_s3_env(postgres: PostgresServer, s3_server: S3Server, bucket: str) -> dict[str, str]:
    """The variables of a DuckLake in a new catalog database with its files in ``s3://<bucket>/lake``."""
    return {
        **lake_env(postgres, postgres.create_database(), Path()),
        "ANALYTICS_LAKE_DATA_PATH": f"s3://{bucket}/lake",
        **s3_server.env(),
    }


@dataclass
class LakeRun:
    env: dict[str, str]
    bucket: str
    output: str
    dagster_home: Path

    @property
    def data_dir(self) -> Path:
        return Path(self.env["ANALYTICS_DATA_DIR"])

    @property
    def raw_on_s3(self) -> bool:
        return "ANALYTICS_RAW_URL" in self.env


@pytest.fixture(scope="module", params=["raw-in-data-dir", "raw-on-s3"])
def lake_run(
    request: pytest.FixtureRequest,
    sandbox: SandboxServer,
    postgres: PostgresServer,
    s3_server: S3Server,
    tmp_path_factory: pytest.TempPathFactory,
) -> LakeRun:
    """``backfill`` into a DuckLake on S3, its runs recorded in a ``DAGSTER_HOME`` of its own (searched
    for the secret key with the data directory)."""
    base = tmp_path_factory.mktemp("lake-s3")
    bucket = s3_server.create_bucket()
    env = {
        **sandbox_env(sandbox, base),
        **lake_s3_env(postgres, s3_server, bucket),
        "DAGSTER_HOME": str(base / "dagster"),
    }
    if request.param == "raw-on-s3":
        env["ANALYTICS_RAW_URL"] = f"s3://{bucket}/raw"
    (base / "dagster").mkdir()
    result = run_cli("backfill", *RANGE, env=env)
    assert result.exit_code == 0, result.output
    return LakeRun(env, bucket, result.output, base / "dagster")


@pytest.fixture
def aws(s3_server: S3Server, monkeypatch: pytest.MonkeyPatch) -> None:
    """The AWS variables in this process's environment, where a lake connection opened here reads them."""
    for key, value in s3_server.env().items():
        monkeypatch.setenv(key, value)


def objects(s3_server: S3Server, prefix: str) -> dict[str, bytes]:
    """Every object under ``bucket/prefix``, by its ``bucket/key``."""
    fs = s3_server.filesystem()
    found = fs.get_file_info(pafs.FileSelector(prefix, recursive=True, allow_not_found=True))
    files = sorted(info.path for info in found if info.type == pafs.FileType.File)
    return {path: fs.open_input_stream(path).readall() for path in files}


@pytest.mark.usefixtures("aws")
def test_a_backfill_into_a_lake_on_s3_holds_exactly_the_rows_of_a_file_run(
    lake_run: LakeRun, file_run: FileRun
) -> None:
    on_file, on_lake = snapshot(file_run.warehouse), snapshot(lake_of(lake_run.env))
    assert on_lake == on_file
    assert all(on_file[e.fact_table] for e in ASSET_ENDPOINTS)  # the comparison compared something


@pytest.mark.usefixtures("aws")
def test_the_lakes_parquet_files_are_objects_in_the_bucket_and_none_is_local(
    lake_run: LakeRun, s3_server: S3Server
) -> None:
    in_bucket = objects(s3_server, f"{lake_run.bucket}/lake")
    in_catalog: dict[str, set[str]] = {}
    with lake_of(lake_run.env).reader() as con:
        for e in ASSET_ENDPOINTS:
            files = con.execute("select data_file from ducklake_list_files('lake', ?)", [e.fact_table])
            in_catalog[e.fact_table] = {path.removeprefix("s3://") for (path,) in files.fetchall()}
            rows = con.execute(f"select count(*) from {e.fact_table}").fetchall()[0][0]
            # DuckLake keeps a few rows in the catalog itself (data inlining): a table of a few days'
            # counts may have no file; every larger one does.
            assert in_catalog[e.fact_table] or rows < 100, e.fact_table
    assert set().union(*in_catalog.values()) <= set(in_bucket)
    assert all(key.endswith(".parquet") and data.startswith(b"PAR1") for key, data in in_bucket.items())
    top = {p.name for p in lake_run.data_dir.iterdir()}
    assert top == (MARKERS if lake_run.raw_on_s3 else MARKERS | {"raw"})
    assert not any(p.suffix in {".duckdb", ".wal"} for p in lake_run.data_dir.rglob("*"))
    if lake_run.raw_on_s3:
        assert objects(s3_server, f"{lake_run.bucket}/raw")  # the partitions landed beside the lake


@pytest.mark.usefixtures("aws")
def test_a_lake_writer_uploads_its_files_within_its_own_memory_cap(
    postgres: PostgresServer, s3_server: S3Server
) -> None:
    """httpfs holds an upload's part in memory: its default part (76.5 MiB) is more than a lake writer's
    whole cap, so every load ran out and ran again with more memory; the lake's connections use parts
    of 5.4 MiB."""
    bucket = s3_server.create_bucket()
    lake = lake_of(lake_s3_env(postgres, s3_server, bucket))
    with lake.writer() as con:  # its own cap, no retry with more
        con.execute(
            "insert into fct_dau_count select ?::date + i::int, i, 'default' from range(500) as days(i)",
            [START],
        )
    assert [key for key in objects(s3_server, f"{bucket}/lake") if "fct_dau_count" in key]


def test_export_and_report_read_the_lake_from_an_empty_data_directory(
    lake_run: LakeRun, file_run: FileRun, tmp_path: Path
) -> None:
    """Another host: the lake's and the store's variables, nothing else (no token, no raw partitions)."""
    names = ("ANALYTICS_WAREHOUSE_URL", "ANALYTICS_LAKE_DATA_PATH", *NO_AWS)
    env = {name: lake_run.env[name] for name in names if name in lake_run.env}
    env["ANALYTICS_DATA_DIR"] = str(tmp_path / "fresh")
    for e in ASSET_ENDPOINTS:
        out = {where: tmp_path / f"{where}-{e.fact_table}.csv" for where in ("lake", "file")}
        command = ("export", "--table", e.fact_table, "--format", "csv")
        result = run_cli(*command, "--out", str(out["lake"]), env=env)
        assert result.exit_code == 0, result.output
        assert SECRET_ACCESS_KEY not in result.output
        assert run_cli(*command, "--out", str(out["file"]), env=file_run.env).exit_code == 0
        assert csv_rows(out["lake"], e.fact_table) == csv_rows(out["file"], e.fact_table)
    report = tmp_path / "usage.html"
    result = run_cli("report", "--end", str(END), "--out", str(report), env=env)
    assert result.exit_code == 0, result.output
    assert report.stat().st_size > 10_000 and SECRET_ACCESS_KEY not in result.output
    assert not (tmp_path / "fresh" / "warehouse.duckdb").exists()


def csv_rows(path: Path, table: str) -> list[list[str]]:
    """An export's rows in order, without the time each budget override was fetched (``fetched_at``)."""
    with path.open(newline="") as f:
        rows = list(csv.reader(f))
    if table == "fct_budget_overrides":
        fetched_at = rows[0].index("fetched_at")
        rows = [row[:fetched_at] + row[fetched_at + 1 :] for row in rows]
    return sorted(rows)


def test_the_secret_key_is_in_no_output_and_no_file(lake_run: LakeRun, s3_server: S3Server) -> None:
    assert lake_run.output and SECRET_ACCESS_KEY not in lake_run.output
    assert files_holding(lake_run.data_dir, SECRET_ACCESS_KEY) == []
    assert list(lake_run.dagster_home.rglob("*.db")), "the runs were recorded in DAGSTER_HOME"
    assert files_holding(lake_run.dagster_home, SECRET_ACCESS_KEY) == []
    for key, data in objects(s3_server, lake_run.bucket).items():
        assert SECRET_ACCESS_KEY.encode() not in data, key


@pytest.mark.usefixtures("aws")
def test_the_secret_key_is_in_nothing_a_query_can_read(lake_run: LakeRun, tmp_path: Path) -> None:
    """httpfs copies the environment's secret key into a setting when it loads: a lake connection
    empties it, or ``export --query`` would write it to a file."""
    with lake_of(lake_run.env).reader() as con:
        visible = str(con.execute("select * from duckdb_secrets()").fetchall())
        visible += str(con.execute("select * from duckdb_settings()").fetchall())
        visible += str(con.execute("select * from duckdb_databases()").fetchall())
    assert "analytics_lake_data" in visible and SECRET_ACCESS_KEY not in visible
    out = tmp_path / "settings.csv"
    query = "select name, value from duckdb_settings() where name like 's3%'"
    result = run_cli("export", "--query", query, "--format", "csv", "--out", str(out), env=lake_run.env)
    assert result.exit_code == 0, result.output
    assert "s3_secret_access_key" in out.read_text() and SECRET_ACCESS_KEY not in out.read_text()


def test_a_store_that_cannot_be_reached_fails_without_the_secret_key(
    lake_run: LakeRun, s3_server: S3Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in {**s3_server.env(), "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}.items():
        monkeypatch.setenv(key, value)
    with lake_of(lake_run.env).reader() as con, pytest.raises(duckdb.IOException) as caught:
        con.execute("from fct_user_activity").fetchall()
    assert "127.0.0.1:9" in str(caught.value) and SECRET_ACCESS_KEY not in str(caught.value)


@pytest.fixture
def without_credentials(
    sandbox: SandboxServer, postgres: PostgresServer, s3_server: S3Server, tmp_path: Path
) -> tuple[dict[str, str | None], LakeWarehouse, str]:
    """The variables of a new lake on S3, every AWS one unset; the (empty) lake, and its bucket."""
    bucket = s3_server.create_bucket()
    lake = lake_s3_env(postgres, s3_server, bucket)
    env: dict[str, str | None] = {**sandbox_env(sandbox, tmp_path), **lake, **NO_AWS}
    return env, lake_of(lake), bucket


NO_CREDENTIALS = "ANALYTICS_LAKE_DATA_PATH s3://"
NO_CREDENTIALS_WHY = "is an s3:// URL but AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"


@pytest.mark.parametrize("command", ["backfill", "nightly"])
def test_an_s3_data_path_without_credentials_is_one_line_before_any_request_or_write(
    without_credentials: tuple[dict[str, str | None], LakeWarehouse, str],
    sandbox: SandboxServer,
    s3_server: S3Server,
    tmp_path: Path,
    command: str,
) -> None:
    env, lake, bucket = without_credentials
    before = sandbox.stats.total
    result = run_cli(command, *(RANGE if command == "backfill" else ()), env=env)
    assert_one_line_error(result, NO_CREDENTIALS)
    assert NO_CREDENTIALS_WHY in result.output
    assert sandbox.stats.total == before
    assert not lake.exists() and objects(s3_server, bucket) == {}
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize("command", ["export", "report"])
def test_readers_without_credentials_are_one_line(lake_run: LakeRun, tmp_path: Path, command: str) -> None:
    env: dict[str, str | None] = {**lake_run.env, **NO_AWS, "ANALYTICS_DATA_DIR": str(tmp_path / "d")}
    arguments = {
        "export": ("--table", "fct_user_activity", "--format", "csv", "--out", str(tmp_path / "x.csv")),
        "report": ("--end", str(END), "--out", str(tmp_path / "r.html")),
    }[command]
    result = run_cli(command, *arguments, env=env)
    assert_one_line_error(result, NO_CREDENTIALS)
    assert NO_CREDENTIALS_WHY in result.output
    assert sorted(tmp_path.iterdir()) == []


def test_a_data_path_in_a_missing_bucket_is_one_line_before_any_request_or_write(
    sandbox: SandboxServer, postgres: PostgresServer, s3_server: S3Server, tmp_path: Path
) -> None:
    env = {**sandbox_env(sandbox, tmp_path), **lake_s3_env(postgres, s3_server, "no-such-bucket")}
    before = sandbox.stats.total
    result = run_cli("backfill", *RANGE, env=env)
    assert_one_line_error(result, "ANALYTICS_LAKE_DATA_PATH s3://no-such-bucket/lake/ names the bucket")
    assert sandbox.stats.total == before
    assert not (tmp_path / "data").exists()
