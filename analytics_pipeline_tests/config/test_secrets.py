"""The token (and the pseudonymisation key) never appear in logs, Dagster's storage, Parquet, DuckDB,
exceptions or reprs: real runs through the command line, failures included, then every artifact searched.

Each run uses a persistent Dagster instance (``DAGSTER_HOME`` under ``tmp_path``: run storage, event
logs, compute logs on disk), ``-v`` and every logger captured at DEBUG. The sandbox echoes the token
in its error bodies, as a careless gateway might.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import pickle
import sqlite3
import traceback
import zlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import dagster as dg
import duckdb
import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import Result

from analytics_pipeline.api import AnalyticsClient, RetryPolicy
from analytics_pipeline.api.endpoints import DAU_COUNT
from analytics_pipeline.api.errors import ServerError, TransportError, Unauthorized
from analytics_pipeline.config.settings import ConfigError, Settings
from analytics_pipeline.dates import utc_today, yesterday
from analytics_pipeline.defs.build import build_definitions
from analytics_pipeline.defs.resources import AnalyticsApiResource, PrivacyResource
from analytics_pipeline.privacy.pseudonymize import Pseudonymizer
from analytics_pipeline.privacy.secret import Secret
from analytics_pipeline.sandbox import (
    BeforeResponse,
    SandboxRequest,
    SandboxResponse,
    SandboxServer,
    SyntheticOrg,
)
from analytics_pipeline_tests.conftest import (
    TEST_BURST,
    TEST_REQUESTS_PER_MINUTE,
    assert_one_line_error,
    run_cli,
    sandbox_env,
)
from analytics_pipeline_tests.traces import encoded_forms, traces

pytestmark = pytest.mark.usefixtures("clean_environment")

# Distinctive, and with characters ('/', '+', '=', '%') whose URL-encoded and base64 forms differ.
TOKEN = "tok-canary/Q7x+9zVb=41%e1d-service"
WRONG_TOKEN = "wrong-canary/Zr8+ktP=03%aa-revoked"
KEY = "key-canary/Hd2+Lm9=Qw%77-0123456789abcdef"


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    org = SyntheticOrg(seed=5, people=12, service_accounts=2)
    with SandboxServer(
        org, tokens=(TOKEN,), requests_per_minute=TEST_REQUESTS_PER_MINUTE, burst=TEST_BURST
    ) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(server: SandboxServer) -> Iterator[SandboxServer]:
    server.before_response = None
    yield server
    server.before_response = None


def env_for(sandbox: SandboxServer, tmp_path: Path, token: str = TOKEN, **extra: str) -> dict[str, str]:
    (tmp_path / "dagster_home").mkdir(exist_ok=True)
    return {**sandbox_env(sandbox, tmp_path, token), "DAGSTER_HOME": str(tmp_path / "dagster_home"), **extra}


def echo_token(token: str, path: str, *, failures: int | None) -> BeforeResponse:
    """A fault: 500s on ``path`` whose error body quotes the token (``failures`` of them; None: all)."""
    sent = [0]

    def before_response(request: SandboxRequest, response: SandboxResponse) -> SandboxResponse:
        if request.path != path or (failures is not None and sent[0] >= failures):
            return response
        sent[0] += 1
        return SandboxResponse.error(
            500, f"Internal-{token}", f"upstream refused 'Authorization: Bearer {token}'"
        )

    return before_response


def echo_rejected_token(token: str) -> BeforeResponse:
    """A fault: every 401 quotes the token it rejected."""

    def before_response(request: SandboxRequest, response: SandboxResponse) -> SandboxResponse:
        if response.status != 401:
            return response
        return SandboxResponse.error(401, "Unauthenticated", f"invalid API token {token!r}")

    return before_response


def captured(results: list[Result], caplog: pytest.LogCaptureFixture) -> list[str]:
    texts = [r.output for r in results] + [r.stderr for r in results]
    texts += [caplog.text, *(record.getMessage() for record in caplog.records)]
    return texts


def run(*args: str, env: dict[str, str]) -> Result:
    return run_cli("-v", *args, env=env)


def capture_everything(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    # A command run without -v earlier in this process raised httpx's own level; -v does not lower it.
    caplog.set_level(logging.DEBUG, logger="httpx")


def days_back(n: int) -> tuple[str, str]:
    end = yesterday(utc_today())
    return (end - dt.timedelta(days=n - 1)).isoformat(), end.isoformat()


def test_the_search_finds_what_it_looks_for(tmp_path: Path) -> None:
    """Compressed and encoded copies are found, so a clean result below means something."""
    table = pa.table({"raw_json": [f'{{"t": "{TOKEN}"}}'] * 1000})
    pq.write_table(table, tmp_path / "a.parquet", compression="zstd")
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        con.execute("create table t as select $t || range::varchar as v from range(5000)", {"t": TOKEN})
    with sqlite3.connect(tmp_path / "runs.db") as con:
        con.execute("create table snapshots (body blob)")
        con.execute("insert into snapshots values (?)", (zlib.compress(f"token={TOKEN}".encode()),))
    (tmp_path / "log.txt").write_text(base64.b64encode(f"x:{TOKEN}".encode()).decode())  # odd alignment
    found = traces(encoded_forms(TOKEN), [tmp_path])
    for name in ("a.parquet", "w.duckdb", "runs.db", "log.txt"):
        assert any(name in where for where in found), (name, found)


def test_runs_that_retry_and_fail_leave_no_trace_of_either_token(
    sandbox: SandboxServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    capture_everything(caplog)
    start, end = days_back(1)
    results = []

    # A backfill whose dau-count requests fail twice (quoting the token), then succeed.
    sandbox.before_response = echo_token(TOKEN, DAU_COUNT.path, failures=2)
    results.append(run("backfill", "--start", start, "--end", end, env=env_for(sandbox, tmp_path)))
    assert results[-1].exit_code == 0, results[-1].output

    # A rejected token, quoted back by the API (in a directory of its own: this one is the first token's).
    sandbox.before_response = echo_rejected_token(WRONG_TOKEN)
    revoked_dir = str(tmp_path / "revoked-data")
    revoked_env = env_for(sandbox, tmp_path, WRONG_TOKEN, ANALYTICS_DATA_DIR=revoked_dir)
    results.append(run("nightly", env=revoked_env))
    assert results[-1].exit_code == 2 and "rejected the token (401)" in results[-1].output

    # A storm of 500s on one endpoint: every retry spent, the run fails.
    sandbox.before_response = echo_token(TOKEN, DAU_COUNT.path, failures=None)
    results.append(run("nightly", env=env_for(sandbox, tmp_path)))
    assert results[-1].exit_code == 1 and "HTTP 500" in results[-1].output, results[-1].output
    assert any("gave up after 6 attempts" in r.getMessage() for r in caplog.records)

    assert any("HTTP Request: GET" in r.getMessage() for r in caplog.records)  # httpx did log at INFO
    assert list((tmp_path / "dagster_home").rglob("*.db"))  # Dagster's storage is on disk
    needles = encoded_forms(TOKEN) | encoded_forms(WRONG_TOKEN)
    assert traces(needles, [tmp_path], captured(results, caplog)) == []


def test_a_pseudonymised_run_leaves_no_trace_of_the_token_the_key_or_any_email(
    sandbox: SandboxServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    capture_everything(caplog)
    env = env_for(sandbox, tmp_path, ANALYTICS_PSEUDONYMIZE="1", ANALYTICS_PSEUDONYMIZE_KEY=KEY)
    results = [run("nightly", env=env)]  # every endpoint (the backfill's path is the test above's)
    assert results[0].exit_code == 0, results[0].output

    with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True) as con:
        people = con.execute("select count(*) from dim_users where not is_service_account").fetchall()[0][0]
    assert people > 0
    emails = sandbox.org.user_emails
    needles = encoded_forms(TOKEN) | encoded_forms(KEY) | set(emails) | {"@example.com"}
    assert traces(needles, [tmp_path], captured(results, caplog)) == []


def test_reprs_and_pickles_hide_the_secrets(sandbox: SandboxServer, tmp_path: Path) -> None:
    env = env_for(sandbox, tmp_path, ANALYTICS_PSEUDONYMIZE="1", ANALYTICS_PSEUDONYMIZE_KEY=KEY)
    settings = Settings.from_env(env, env_file=tmp_path / "none.env")
    api = AnalyticsApiResource(base_url=sandbox.url, token=TOKEN, data_dir=str(tmp_path / "data"))
    privacy = PrivacyResource(pseudonymize_key=KEY)
    client = AnalyticsClient(sandbox.url, Secret(TOKEN))
    defs = build_definitions(settings)
    objects: list[object] = [
        settings,
        settings.api_token,
        settings.pseudonymize_key,
        api,
        privacy,
        client,
        Pseudonymizer(Secret(KEY)),
        defs.resources["api"],
        defs.resources["privacy"],
    ]
    sandbox.before_response = echo_rejected_token(WRONG_TOKEN)
    with AnalyticsClient(sandbox.url, Secret(WRONG_TOKEN)) as wrong, pytest.raises(Unauthorized) as rejected:
        wrong.dau_count(*map(dt.date.fromisoformat, days_back(1)))
    objects.append(rejected.value)

    def storm(request: httpx.Request) -> httpx.Response:
        echo = {"code": TOKEN, "message": f"echo {TOKEN} {request.headers}"}
        return httpx.Response(500, json={"error": echo})

    flaky = AnalyticsClient(
        "https://api.example.test",
        Secret(TOKEN),
        transport=httpx.MockTransport(storm),
        retry=RetryPolicy(max_attempts=2),
        sleep=lambda seconds: None,
    )
    with pytest.raises(ServerError) as failed:
        flaky.dau_count(*map(dt.date.fromisoformat, days_back(1)))
    objects.append(failed.value)

    texts = [text for obj in objects for text in (repr(obj), str(obj))]
    texts += ["".join(traceback.format_exception(e.value)) for e in (rejected, failed)]
    assert traces(encoded_forms(TOKEN) | encoded_forms(WRONG_TOKEN) | encoded_forms(KEY), texts=texts) == []
    for secret in (settings.api_token, settings.pseudonymize_key, Pseudonymizer(Secret(KEY))):
        with pytest.raises(TypeError):
            pickle.dumps(secret)


def test_dagster_receives_the_secrets_as_environment_variables(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    env = env_for(sandbox, tmp_path, ANALYTICS_PSEUDONYMIZE="1", ANALYTICS_PSEUDONYMIZE_KEY=KEY)
    defs = build_definitions(Settings.from_env(env, env_file=tmp_path / "none.env"))
    assert isinstance(defs.resources["api"].token, dg.EnvVar)
    assert defs.resources["api"].token.env_var_name == "AUGMENT_API_TOKEN"
    assert isinstance(defs.resources["privacy"].pseudonymize_key, dg.EnvVar)
    assert defs.resources["privacy"].pseudonymize_key.env_var_name == "ANALYTICS_PSEUDONYMIZE_KEY"


def forget_later(monkeypatch: pytest.MonkeyPatch, *names: str) -> None:
    """Undo, after the test, what a command's read of ``.env`` copies into this process's environment."""
    for name in names:
        monkeypatch.setenv(name, "placeholder")
        monkeypatch.delenv(name)


@pytest.mark.parametrize("where", ["environment", ".env"])
def test_whitespace_around_a_secret_is_not_part_of_it(
    sandbox: SandboxServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    where: str,
) -> None:
    """A newline after the token and a space after the key: every reader (Settings, the Dagster resources
    reading the variables themselves) sees the same secrets, so the backfill works on a new directory."""
    capture_everything(caplog)
    env = env_for(sandbox, tmp_path, ANALYTICS_PSEUDONYMIZE="1")
    secrets = {"AUGMENT_API_TOKEN": TOKEN + "\n", "ANALYTICS_PSEUDONYMIZE_KEY": KEY + " "}
    if where == "environment":
        env.update(secrets)
    else:
        del env["AUGMENT_API_TOKEN"]
        forget_later(monkeypatch, *secrets)
        lines = [f'{name}="{value}"'.replace("\n", "\\n") for name, value in secrets.items()]
        (tmp_path / ".env").write_text("\n".join(lines) + "\n")  # the working directory's
    start, end = days_back(1)
    results = [run("backfill", "--start", start, "--end", end, env=env)]
    assert results[0].exit_code == 0, results[0].output
    # Then a run that fails in Dagster, the API quoting the token it got (Dagster stores the failure).
    sandbox.before_response = lambda request, response: SandboxResponse.error(
        401, "Unauthenticated", f"invalid API token {TOKEN!r} ('Authorization: Bearer {TOKEN}')"
    )
    results.append(run("nightly", env=env))
    assert results[-1].exit_code == 2 and "rejected the token (401)" in results[-1].output
    assert list((tmp_path / "dagster_home").rglob("*.db"))  # Dagster's storage is on disk
    needles = encoded_forms(TOKEN) | encoded_forms(KEY)
    assert traces(needles, [tmp_path / "data", tmp_path / "dagster_home"], captured(results, caplog)) == []


@pytest.mark.parametrize(
    ("token", "problem"),
    [
        ("tok-abc\n123-canary", "has a space or a line break inside it"),
        ("tok-abc 123-canary", "has a space or a line break inside it"),
        ("tok-abc\x07123-canary", "has a control character inside it"),
        ("tok-abc\u2013123-canary", "has a non-ASCII character in it"),
    ],
)
def test_a_token_that_cannot_be_sent_is_refused_in_one_line_without_it(
    sandbox: SandboxServer, tmp_path: Path, caplog: pytest.LogCaptureFixture, token: str, problem: str
) -> None:
    capture_everything(caplog)
    sent = sandbox.stats.total
    start, end = days_back(1)
    env = env_for(sandbox, tmp_path, token)
    results = [run("backfill", "--start", start, "--end", end, env=env), run("nightly", env=env)]
    for result in results:
        assert_one_line_error(result, f"AUGMENT_API_TOKEN {problem}")
        assert "a token is printable ASCII without spaces: set it again" in result.output
    assert sandbox.stats.total == sent  # refused before any request
    pieces = {token, repr(token)[1:-1], "tok-abc", "123-canary"}
    assert traces(pieces, [tmp_path], captured(results, caplog)) == []


@pytest.mark.parametrize("token", [f"\t {TOKEN}\r\n", "tok-abc\n123-bad", "tok-abc\u2013123-bad"])
def test_the_dagster_resource_reads_the_token_as_settings_do(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, token: str
) -> None:
    """A run launched from the UI resolves the EnvVar itself: normalised, or refused, the same way."""
    monkeypatch.setenv("AUGMENT_API_TOKEN", token)
    api = AnalyticsApiResource(
        base_url=sandbox.url, token=dg.EnvVar("AUGMENT_API_TOKEN"), data_dir=str(tmp_path / "data")
    )
    day = dt.date.fromisoformat(days_back(1)[1])
    with dg.build_resources({"api": api}) as resources:
        if token.strip() == TOKEN:
            with resources.api.client() as client:
                assert len(client.dau_count(day, day)) == 1
            return
        with pytest.raises(ConfigError, match=r"^AUGMENT_API_TOKEN has ") as info, resources.api.client():
            pass
    assert "tok-abc" not in str(info.value) and "123-bad" not in str(info.value)


def test_a_header_httpx_refuses_is_reported_without_the_token(sandbox: SandboxServer) -> None:
    """The client's last line of defence, for a Secret built without the settings' checks: httpx quotes
    the header it refuses as bytes (``b'Bearer tok-abc123\\n'``), and that error is neither in the message
    nor chained as the cause (tracebacks and Dagster's event log show the cause in full)."""
    token = "tok-abc123-canary\n"
    day = dt.date.fromisoformat(days_back(1)[1])
    with (
        AnalyticsClient(sandbox.url, Secret(token), retry=RetryPolicy(max_attempts=1)) as client,
        pytest.raises(TransportError) as failed,
    ):
        client.dau_count(day, day)
    text = "".join(traceback.format_exception(failed.value)) + repr(failed.value)
    assert "Illegal header value" in text and "[redacted]" in text
    assert "canary" not in text


def test_errors_quoting_the_token_in_any_form_are_redacted() -> None:
    token = "tok-canary/Q7x+9z'q\"w\\v"
    forms = [
        token,
        repr(token),
        repr(token.encode()),
        repr(f"Bearer {token}".encode()),
        json.dumps(token),
        json.dumps(token).replace("/", "\\/"),
        quote(token, safe=""),
        quote_plus(token),
    ]

    def echo(request: httpx.Request) -> httpx.Response:
        return httpx.Response(500, json={"error": {"code": forms[1], "message": " | ".join(forms)}})

    client = AnalyticsClient(
        "https://api.example.test",
        Secret(token),
        transport=httpx.MockTransport(echo),
        retry=RetryPolicy(max_attempts=1),
    )
    with pytest.raises(ServerError) as failed:
        client.dau_count(*map(dt.date.fromisoformat, days_back(1)))
    text = "".join(traceback.format_exception(failed.value))
    assert text.count("[redacted]") >= len(forms) and "canary" not in text
