"""The warehouse as a DuckLake on a real PostgreSQL catalog: the same rows, macros, views and checks as the
file; loads in one transaction each that readers never wait for; writers taking turns; export, report
and plan on it; bad settings refused in one line; the password nowhere."""

import datetime as dt
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from analytics_pipeline.api.endpoints import ASSET_ENDPOINTS
from analytics_pipeline.backfill.in_process import execute_range
from analytics_pipeline.config.warehouse_url import parse_warehouse_url
from analytics_pipeline.sandbox import SandboxServer
from analytics_pipeline.warehouse import LakeWarehouse, Warehouse, WarehouseBusy, WarehouseDoors
from analytics_pipeline.warehouse.analysis import MACROS, VIEWS
from analytics_pipeline_tests.conftest import assert_one_line_error, run_cli
from analytics_pipeline_tests.postgres_server import PostgresServer
from analytics_pipeline_tests.warehouse.test_analysis import NEW_YEAR, pipeline_defs, pipeline_env

START, END = NEW_YEAR - dt.timedelta(days=2), NEW_YEAR + dt.timedelta(days=1)  # an empty day, a new month

OTHER_ARGUMENTS = {"usage_timeseries", "credits_timeseries", "budget_utilisation"}
MACRO_CALLS = [
    *(f"from {name}('{START}', '{END}') order by all" for name in MACROS if name not in OTHER_ARGUMENTS),
    f"from usage_timeseries('week', '{START}', '{END}') order by all",
    f"from credits_timeseries('day', '{START}', '{END}') order by all",
    f"from budget_utilisation('{START}') order by all",
    f"from usage_summary('{START}', '{END}', editor := 'VSCode') order by all",
    f"from usage_by_user('{START}', '{END}', organization := NULL) order by all",
    f"from usage_by_organization('{START}', '{END}', organization := 'default') order by all",
    f"from analysis_calendar('{START}', '{END}', organization := 'default') order by all",
    "from user_adoption order by all",
    "from analysis_days order by all",
]
"""Every analysis macro and view, as a user calls them."""


def lake_env(postgres: PostgresServer, database: str, data_path: Path) -> dict[str, str]:
    """The variables that put the warehouse on a DuckLake in ``database``, its files under ``data_path``."""
    return {
        "ANALYTICS_WAREHOUSE_URL": f"ducklake:postgres:{postgres.libpq(database)}",
        "ANALYTICS_LAKE_DATA_PATH": str(data_path),
    }


def lake_of(env: dict[str, str], **options: float) -> LakeWarehouse:
    lake = parse_warehouse_url(env["ANALYTICS_WAREHOUSE_URL"], env["ANALYTICS_LAKE_DATA_PATH"])
    assert lake is not None
    return LakeWarehouse(lake, **options)


def snapshot(warehouse: WarehouseDoors) -> dict[str, list[tuple]]:
    """Every fact table, dim_users and what pipeline_partitions says of each day, without fetch times."""
    with warehouse.reader() as con:
        tables = {
            e.fact_table: con.execute(
                f"select * exclude (fetched_at) from {e.fact_table} order by all"
            ).fetchall()
            if e.fact_table == "fct_budget_overrides"
            else con.execute(f"select * from {e.fact_table} order by all").fetchall()
            for e in ASSET_ENDPOINTS
        }
        tables["dim_users"] = con.execute("select * from dim_users order by all").fetchall()
        tables["pipeline_partitions"] = con.execute(
            "select endpoint, date, rows, status, content_digest from pipeline_partitions order by all"
        ).fetchall()
    return tables


def _checks(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str, str | None], bool]:
    return {
        (e.asset_key.to_user_string(), e.check_name, e.partition): e.passed
        for e in result.get_asset_check_evaluations()
    }


@dataclass
class Runs:
    file: Warehouse
    lake: LakeWarehouse
    file_checks: dict[tuple[str, str, str | None], bool]
    lake_checks: dict[tuple[str, str, str | None], bool]
    env: dict[str, str]
    """The lake run's environment."""


def _run(env: dict[str, str]) -> dg.ExecuteInProcessResult:
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        return execute_range(pipeline_defs(env, checks=True), START, END, dg.DagsterInstance.ephemeral())


@pytest.fixture(scope="module")
def runs(sandbox: SandboxServer, postgres: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Runs:
    """The same days loaded, checks and all, into a warehouse file and into a DuckLake."""
    root = tmp_path_factory.mktemp("lake")
    file_result = _run(pipeline_env(sandbox, root / "file"))
    (root / "lake-data").mkdir()
    env = {
        **pipeline_env(sandbox, root / "lake"),
        **lake_env(postgres, postgres.create_database(), root / "lake-data"),
    }
    lake_result = _run(env)
    file = Warehouse(root / "file" / "warehouse.duckdb")
    return Runs(file, lake_of(env), _checks(file_result), _checks(lake_result), env)


def test_a_lake_run_holds_exactly_the_rows_of_a_file_run(runs: Runs) -> None:
    on_file, on_lake = snapshot(runs.file), snapshot(runs.lake)
    assert on_lake == on_file
    assert all(on_file[e.fact_table] for e in ASSET_ENDPOINTS)  # the comparison compared something
    assert not (Path(runs.env["ANALYTICS_DATA_DIR"]) / "warehouse.duckdb").exists()


def test_the_analysis_macros_and_views_answer_the_same_on_the_lake(runs: Runs) -> None:
    with runs.file.reader() as file, runs.lake.reader() as lake:
        for sql in MACRO_CALLS:
            assert lake.execute(sql).fetchall() == file.execute(sql).fetchall(), sql


def test_every_check_runs_and_passes_on_the_lake(runs: Runs) -> None:
    assert runs.lake_checks == runs.file_checks
    assert runs.lake_checks and all(runs.lake_checks.values())


def test_views_tables_and_their_comments_are_in_the_lake(runs: Runs) -> None:
    with runs.lake.reader() as con:
        views = dict(
            con.execute("select view_name, comment from duckdb_views() where not internal").fetchall()
        )
        tables = dict(con.execute("select table_name, comment from duckdb_tables()").fetchall())
        columns = con.execute(
            "select count(*) filter (where comment is null), count(*) from duckdb_columns() "
            "where table_name = 'fct_user_activity'"
        ).fetchall()[0]
        macros = [name for (name,) in con.execute("select macro_name from analysis_macros").fetchall()]
        in_catalog = {
            name
            for (name,) in con.execute(
                "select function_name from duckdb_functions() where database_name = 'lake'"
            ).fetchall()
        }
    assert set(VIEWS) <= set(views) and all(views[v] for v in VIEWS)
    assert all(tables[e.fact_table] for e in ASSET_ENDPOINTS)
    assert columns == (0, columns[1])  # every column of a table is documented
    assert set(MACROS) <= set(macros) <= in_catalog


def test_no_macro_default_is_null() -> None:
    """DuckLake 1.5.5 stores a macro parameter's default as text: ``:= NULL`` fails at commit,
    ``:= NULL::DATE`` breaks the catalog for every later statement, and ``:= NULL::VARCHAR`` comes back
    as the string 'NULL' (measured). The layer's optional parameters default to 'all' instead."""
    from analytics_pipeline.warehouse.analysis import INSTALLED_FILES
    from analytics_pipeline.warehouse.sql import read_sql

    for name in INSTALLED_FILES:
        assert ":= null" not in read_sql(name).lower(), name


def test_a_reader_keeps_reading_while_a_load_is_in_its_transaction(runs: Runs) -> None:
    """No staging copy, no wait: a reader sees the last committed snapshot until the load commits."""
    lake = runs.lake
    with lake.reader() as reader:
        before = reader.execute("select count(*) from fct_dau_users").fetchall()[0][0]
    loading, committed = threading.Event(), threading.Event()

    def load() -> None:
        with lake.writer() as con:
            con.execute("begin transaction")
            con.execute("delete from fct_dau_users where date = ?", [START])
            loading.set()
            committed.wait(10)
            con.execute("rollback")  # the fixture's rows stay for the other tests

    writer = threading.Thread(target=load)
    writer.start()
    try:
        assert loading.wait(30)
        with lake.reader() as reader:  # attached while the writer holds its turn and its transaction
            assert reader.execute("select count(*) from fct_dau_users").fetchall()[0][0] == before
            assert (
                reader.execute("select count(*) from usage_by_user(?, ?)", [START, END]).fetchall()[0][0] > 0
            )
    finally:
        committed.set()
        writer.join()


def test_writers_take_turns_and_a_load_is_one_snapshot(runs: Runs) -> None:
    lake = runs.lake
    impatient = lake_of(runs.env, lock_timeout=0.2)
    with lake.writer() as con:
        with pytest.raises(WarehouseBusy, match="another pipeline run has held the writers' turn"):
            with impatient.writer():
                pass
        snapshots = con.execute("select count(*) from ducklake_snapshots('lake')").fetchall()[0][0]
        con.execute("begin transaction")
        con.execute("delete from fct_dau_count where date = ?", [START])
        con.execute("insert into fct_dau_count select ?, 7, 'default'", [START])
        con.execute("delete from fct_dau_count where date = ?", [START])
        con.execute("insert into fct_dau_count select ?, 0, 'default'", [START])
        con.execute("commit")
        assert (
            con.execute("select count(*) from ducklake_snapshots('lake')").fetchall()[0][0] == snapshots + 1
        )
    with impatient.writer():  # the turn is free again once the writer closed
        pass


def test_export_report_and_plan_work_on_the_lake(runs: Runs, tmp_path: Path) -> None:
    env = runs.env
    out = tmp_path / "users.csv"
    result = run_cli("export", "--table", "fct_dau_users", "--format", "csv", "--out", str(out), env=env)
    assert result.exit_code == 0, result.output
    with runs.file.reader() as con:
        expected = con.execute("select count(*) from fct_dau_users").fetchall()[0][0]
    assert len(out.read_text().splitlines()) == expected + 1
    report = tmp_path / "usage.html"
    result = run_cli("report", "--end", str(END), "--out", str(report), env=env)
    assert result.exit_code == 0, result.output
    assert report.stat().st_size > 10_000
    result = run_cli("plan", "--start", str(START), "--end", str(END), env=env)
    assert result.exit_code == 0, result.output
    assert f"{(END - START).days + 1} already loaded" in result.output
    password = env["ANALYTICS_WAREHOUSE_URL"].rpartition("password=")[2].split()[0]
    assert password not in result.output
    result = run_cli("sql", "-c", "select count(*) as n from fct_dau_users", env=env)
    assert result.exit_code == 0, result.output
    assert f" {expected} │" in result.output
    refused = run_cli("sql", "-c", "delete from fct_dau_users", env=env)
    assert refused.exit_code == 2 and "read-only" in refused.output
    assert password not in result.output + refused.output


@pytest.fixture
def lake_settings(postgres: PostgresServer, postgres_database: str, tmp_path: Path) -> dict[str, str]:
    data = tmp_path / "lake-data"
    data.mkdir()
    return lake_env(postgres, postgres_database, data)


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"ANALYTICS_WAREHOUSE_URL": "postgresql://u:hunter2@h/db"}, "must be unset"),
        ({"ANALYTICS_LAKE_DATA_PATH": ""}, "ANALYTICS_LAKE_DATA_PATH is not set"),
        ({"ANALYTICS_LAKE_DATA_PATH": "/nonexistent/lake"}, "is not an existing directory"),
        ({"ANALYTICS_LAKE_DATA_PATH": "gs://bucket/lake"}, "gs:// is not supported"),
    ],
)
def test_bad_settings_are_one_line_before_anything_is_written(
    lake_settings: dict[str, str], tmp_path: Path, change: dict[str, str], fragment: str
) -> None:
    env = {**lake_settings, **change, "ANALYTICS_DATA_DIR": str(tmp_path / "data")}
    for command in (
        ["export", "--table", "fct_dau_count", "--format", "csv", "--out", str(tmp_path / "x.csv")],
        ["report"],
    ):
        result = run_cli(*command, env=env)
        assert_one_line_error(result, fragment)
        assert "hunter2" not in result.output
    assert not (tmp_path / "data").exists()


def test_an_unreachable_or_refused_catalog_is_one_line_without_the_password(
    sandbox: SandboxServer, postgres: PostgresServer, lake_settings: dict[str, str], tmp_path: Path
) -> None:
    good = lake_settings["ANALYTICS_WAREHOUSE_URL"]
    wrong = "n0t-the-Passw0rd"
    cases = {
        good.replace(postgres.password, wrong): "password authentication failed",
        good.replace(f"port={postgres.port}", "port=1"): "cannot reach the DuckLake catalog",
        good.replace("dbname=", "dbname=missing_"): "does not exist",
    }
    for url, fragment in cases.items():
        env = {
            **pipeline_env(sandbox, tmp_path / "data"),
            **lake_settings,
            "ANALYTICS_WAREHOUSE_URL": url,
        }
        result = run_cli("backfill", "--start", str(START), "--end", str(START), env=env)
        assert_one_line_error(result, fragment)
        assert wrong not in result.output and postgres.password not in result.output
        assert not (tmp_path / "data" / "raw").exists()  # refused before fetching


def test_a_data_path_other_than_the_lakes_is_refused(
    runs: Runs, sandbox: SandboxServer, tmp_path: Path
) -> None:
    env = {**runs.env, "ANALYTICS_LAKE_DATA_PATH": str(tmp_path), "ANALYTICS_DATA_DIR": str(tmp_path / "d")}
    result = run_cli("backfill", "--start", str(START), "--end", str(START), env=env)
    assert_one_line_error(result, "keeps its files in")
    result = run_cli(
        "export", "--table", "fct_dau_count", "--format", "csv", "--out", str(tmp_path / "x.csv"), env=env
    )
    assert_one_line_error(result, "is not where the DuckLake")


def test_the_password_is_in_no_sql_text_message_or_file(runs: Runs) -> None:
    password = runs.env["ANALYTICS_WAREHOUSE_URL"].rpartition("password=")[2].split()[0]
    with runs.lake.reader() as con:
        visible = str(con.execute("select * from duckdb_databases()").fetchall())
        visible += str(con.execute("select * from duckdb_secrets()").fetchall())
    assert password not in visible
    assert password not in repr(runs.lake.lake) and password not in runs.lake.description
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(runs.lake.lake)
    for root in (Path(runs.env["ANALYTICS_DATA_DIR"]), Path(runs.env["ANALYTICS_LAKE_DATA_PATH"])):
        for path in root.rglob("*"):
            if path.is_file():
                assert password.encode() not in path.read_bytes(), path


@pytest.fixture
def empty_lake(lake_settings: dict[str, str]) -> Iterator[LakeWarehouse]:
    yield lake_of(lake_settings)


def test_an_empty_catalog_has_no_warehouse_until_a_writer_creates_it(empty_lake: LakeWarehouse) -> None:
    assert not empty_lake.exists()
    empty_lake.verify()  # reachable, no lake yet: fine, and nothing created
    assert not empty_lake.exists()
    with pytest.raises(FileNotFoundError, match="no warehouse yet"):
        with empty_lake.reader():
            pass
    with empty_lake.writer() as con:
        assert con.execute("select count(*) from fct_dau_count").fetchall() == [(0,)]
    assert empty_lake.exists()
    with empty_lake.reader() as con, pytest.raises(duckdb.Error):
        con.execute("insert into fct_dau_count values ('2026-01-01', 1, 'default')")  # read-only


def test_budget_changes_are_recorded_on_a_lake(postgres: PostgresServer, tmp_path: Path) -> None:
    """budgets apply's audit trail on a DuckLake: made with the other tables, its rows as on a file."""
    from decimal import Decimal

    from analytics_pipeline.budgets.apply import Outcome, Sent
    from analytics_pipeline.budgets.audit import AuditTrail
    from analytics_pipeline.budgets.limits import Key
    from analytics_pipeline.budgets.plan import Action, Change

    at = dt.datetime(2026, 12, 4, 12, 0, tzinfo=dt.UTC)
    key = Key("a@example.com", "BUDGET_RESOURCE_CREDITS_CONSUMED", "BUDGET_PERIOD_MONTHLY")
    sent = [
        Sent(Change(key, Action.CHANGE, Decimal(10), Decimal("12.5")), Outcome.APPLIED, None, at),
        Sent(Change(key, Action.CHANGE, Decimal("12.5"), Decimal(20)), Outcome.UNCONFIRMED, "HTTP 503", at),
    ]
    (tmp_path / "lake-data").mkdir()
    lake = lake_of(lake_env(postgres, postgres.create_database(), tmp_path / "lake-data"))
    file = Warehouse(tmp_path / "warehouse.duckdb")
    trail = AuditTrail("run-1", "default", "ops")
    for warehouse in (lake, file):
        for one in sent:
            with warehouse.writer() as con:
                trail.record(con, one)
    query = "select * from fct_budget_changes order by all"
    with lake.reader() as on_lake, file.reader() as on_file:
        assert on_lake.execute(query).fetchall() == on_file.execute(query).fetchall()
        assert on_lake.execute(
            "select user_key, old_limit::varchar, new_limit::varchar, outcome, error, organization "
            "from fct_budget_changes order by new_limit"
        ).fetchall() == [
            ("a@example.com", "10.000000", "12.500000", "applied", None, "default"),
            ("a@example.com", "12.500000", "20.000000", "unconfirmed", "HTTP 503", "default"),
        ]
