"""Shared fixtures: a sandbox API on loopback and pipeline definitions pointed at it."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
from click.testing import CliRunner, Result

from analytics_pipeline.api.endpoints import ASSET_ENDPOINTS
from analytics_pipeline.cli import main
from analytics_pipeline.config.settings import Settings
from analytics_pipeline.dates import utc_today, yesterday
from analytics_pipeline.defs.build import build_definitions
from analytics_pipeline.sandbox import SandboxServer, SyntheticOrg
from analytics_pipeline.warehouse import Warehouse
from analytics_pipeline_tests.postgres_server import PostgresServer
from analytics_pipeline_tests.s3_server import S3Server

SANDBOX_TOKEN = "sandbox-token"
# Fast enough that tests never wait on the limiter, and the same on both sides.
TEST_REQUESTS_PER_MINUTE = 60_000.0
TEST_BURST = 100

CONTRACT_VARIABLES = (  # the configuration names of CONTRACT.md
    "AUGMENT_API_TOKEN",
    "AUGMENT_API_BASE_URL",
    "ANALYTICS_DATA_DIR",
    "ANALYTICS_START_DATE",
    "AUGMENT_API_REQUESTS_PER_MINUTE",
    "AUGMENT_API_BURST",
    "ANALYTICS_RECHECK_DAYS",
    "ANALYTICS_PSEUDONYMIZE",
    "ANALYTICS_PSEUDONYMIZE_KEY",
    "ANALYTICS_RAW_URL",
    "ANALYTICS_STATE_URL",
)


@pytest.fixture(autouse=True)
def _restore_umask() -> Iterator[None]:
    """The command line sets a process-wide umask (owner-only files); one test's command must not set
    the next test's."""
    umask = os.umask(0o022)
    os.umask(umask)
    yield
    os.umask(umask)


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No contract variable from the caller's environment, and an empty working directory."""
    for name in CONTRACT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server of the test session's own (see ``postgres_server.py``)."""
    with PostgresServer() as server:
        yield server


@pytest.fixture
def postgres_database(postgres: PostgresServer) -> str:
    """A new, empty database on the session's PostgreSQL server: its name."""
    return postgres.create_database()


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A real S3-compatible server of the test session's own (see ``s3_server.py``)."""
    with S3Server() as server:
        yield server


@pytest.fixture(scope="session")
def org() -> SyntheticOrg:
    # 120 people: editor-language and user-activity days span several pages at their maximum size.
    return SyntheticOrg(seed=11, people=120, service_accounts=3)


@pytest.fixture(scope="session")
def sandbox(org: SyntheticOrg) -> Iterator[SandboxServer]:
    with SandboxServer(
        org, tokens=(SANDBOX_TOKEN,), requests_per_minute=TEST_REQUESTS_PER_MINUTE, burst=TEST_BURST
    ) as server:
        yield server


@pytest.fixture
def api_a_day_ahead(org: SyntheticOrg) -> Iterator[tuple[SandboxServer, dt.date]]:
    """A sandbox whose today is our tomorrow (past midnight UTC there, not yet here), and our today."""
    today = utc_today()
    with SandboxServer(
        org,
        tokens=(SANDBOX_TOKEN,),
        requests_per_minute=TEST_REQUESTS_PER_MINUTE,
        burst=TEST_BURST,
        today=today + dt.timedelta(days=1),
    ) as server:
        yield server, today


@pytest.fixture(scope="session")
def last_week() -> tuple[dt.date, dt.date]:
    """The seven complete UTC days before today (the sandbox's data is a pure function of the date)."""
    end = yesterday(utc_today())
    return end - dt.timedelta(days=6), end


@dataclass
class Pipeline:
    settings: Settings
    defs: dg.Definitions
    env: dict[str, str]

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir


@pytest.fixture
def pipeline(sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Pipeline:
    env = sandbox_env(sandbox, tmp_path)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = Settings.from_env(env, env_file=tmp_path / "no.env")
    return Pipeline(settings, build_definitions(settings), env)


def sandbox_env(sandbox: SandboxServer, tmp_path: Path, token: str = SANDBOX_TOKEN) -> dict[str, str]:
    """The contract's variables pointing a command at the sandbox, with data under ``tmp_path``."""
    return {
        "AUGMENT_API_TOKEN": token,
        "AUGMENT_API_BASE_URL": sandbox.url,
        "ANALYTICS_DATA_DIR": str(tmp_path / "data"),
        "AUGMENT_API_REQUESTS_PER_MINUTE": str(TEST_REQUESTS_PER_MINUTE),
        "AUGMENT_API_BURST": str(TEST_BURST),
    }


def run_cli(*args: str, env: dict[str, str] | None = None) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def assert_one_line_error(result: Result, fragment: str) -> None:
    """Exit code 2, one line naming the problem, no traceback."""
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith("analytics-pipeline: error: ")
    assert fragment in lines[0]
    assert "Traceback" not in result.output


def warehouse_snapshot(data_dir: Path) -> dict[str, list[tuple]]:
    """Every fact table, dim_users and what pipeline_partitions says of each day, without fetch times."""
    with Warehouse(data_dir / "warehouse.duckdb").reader() as con:
        tables = {
            e.fact_table: con.execute(f"select * from {e.fact_table} order by all").fetchall()
            for e in ASSET_ENDPOINTS
            if e.fact_table != "fct_budget_overrides"
        }
        tables["fct_budget_overrides"] = con.execute(
            "select * exclude (fetched_at) from fct_budget_overrides order by all"
        ).fetchall()
        tables["dim_users"] = con.execute("select * from dim_users order by all").fetchall()
        tables["pipeline_partitions"] = con.execute(
            "select endpoint, date, rows, status from pipeline_partitions order by all"
        ).fetchall()
    return tables
