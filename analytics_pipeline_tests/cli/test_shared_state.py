"""``ANALYTICS_STATE_URL`` through the command line: the limiter's state in a real PostgreSQL, a wrong
password or an unreachable server refused in one line before anything is fetched or written, and the
password nowhere: not in the output, the logs, Dagster's storage or any file of the run."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from urllib.parse import quote

import dagster as dg
import psycopg2
import pytest

from analytics_pipeline.api.ratelimit_postgres import TABLE
from analytics_pipeline.config.settings import Settings
from analytics_pipeline.dates import utc_today, yesterday
from analytics_pipeline.defs.build import build_definitions
from analytics_pipeline.privacy.secret import Secret
from analytics_pipeline.sandbox import SandboxServer
from analytics_pipeline_tests.conftest import SANDBOX_TOKEN, assert_one_line_error, run_cli, sandbox_env
from analytics_pipeline_tests.postgres_server import PostgresServer
from analytics_pipeline_tests.traces import encoded_forms, traces

pytestmark = pytest.mark.usefixtures("clean_environment")

WRONG_PASSWORD = "pw-canary/Q7x+9zVb=41%e1d"


def env_with_state(sandbox: SandboxServer, tmp_path: Path, state_url: str) -> dict[str, str]:
    (tmp_path / "dagster_home").mkdir(exist_ok=True)
    return {
        **sandbox_env(sandbox, tmp_path),
        "ANALYTICS_STATE_URL": state_url,
        "DAGSTER_HOME": str(tmp_path / "dagster_home"),
    }


def a_day() -> str:
    return (yesterday(utc_today()) - dt.timedelta(days=2)).isoformat()


def test_a_backfill_keeps_the_limiter_state_in_postgresql_and_the_password_nowhere(
    sandbox: SandboxServer,
    postgres: PostgresServer,
    postgres_database: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    env = env_with_state(sandbox, tmp_path, postgres.url(postgres_database))
    result = run_cli("-v", "backfill", "--start", a_day(), "--end", a_day(), env=env)
    assert result.exit_code == 0, result.output

    with psycopg2.connect(postgres.url(postgres_database)) as con, con.cursor() as cur:
        cur.execute(f"select token_fingerprint, tat from {TABLE}")
        ((fingerprint, tat),) = cur.fetchall()
    assert fingerprint == Secret(SANDBOX_TOKEN).fingerprint() and tat is not None
    assert not (tmp_path / "data" / ".state").exists()  # no state file beside it
    assert list((tmp_path / "dagster_home").rglob("*.db"))  # Dagster's storage is on disk
    texts = [result.output, caplog.text, *(record.getMessage() for record in caplog.records)]
    assert traces(encoded_forms(postgres.password), [tmp_path], texts) == []


@pytest.mark.parametrize("command", ["backfill", "nightly", "plan"])
@pytest.mark.parametrize("problem", ["wrong password", "unreachable"])
def test_an_unusable_postgresql_stops_the_command_before_any_request_or_write(
    sandbox: SandboxServer, postgres: PostgresServer, tmp_path: Path, command: str, problem: str
) -> None:
    password = quote(WRONG_PASSWORD, safe="")
    if problem == "wrong password":
        url, reason = postgres.url(password=password), "password authentication failed"
    else:
        with PostgresServer() as stopped:  # a port nothing listens on once it is stopped
            port = stopped.port
        url, reason = f"postgresql://someone:{password}@127.0.0.1:{port}/db", "Connection refused"
    args = [command] if command == "nightly" else [command, "--start", a_day(), "--end", a_day()]
    sent = sandbox.stats.total

    result = run_cli(*args, env=env_with_state(sandbox, tmp_path, url))

    assert_one_line_error(result, "cannot use the PostgreSQL of ANALYTICS_STATE_URL (127.0.0.1:")
    assert reason in result.output
    assert sandbox.stats.total == sent  # not one request
    assert not (tmp_path / "data").exists()  # not one file
    assert traces(encoded_forms(WRONG_PASSWORD) | {password}, [tmp_path], [result.output]) == []


def test_dagster_receives_the_url_as_an_environment_variable(
    postgres: PostgresServer, tmp_path: Path
) -> None:
    env = {"AUGMENT_API_TOKEN": SANDBOX_TOKEN, "ANALYTICS_STATE_URL": postgres.url()}
    defs = build_definitions(Settings.from_env(env, env_file=tmp_path / "none.env"))
    state_url = defs.resources["api"].state_url
    assert isinstance(state_url, dg.EnvVar) and state_url.env_var_name == "ANALYTICS_STATE_URL"
    assert postgres.password not in repr(defs.resources["api"])
    unset = build_definitions(
        Settings.from_env({"AUGMENT_API_TOKEN": SANDBOX_TOKEN}, env_file=tmp_path / "x")
    )
    assert unset.resources["api"].state_url is None
