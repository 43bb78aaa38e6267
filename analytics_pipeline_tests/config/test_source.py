"""A data directory holds one organisation's data from one API: ``.source`` records which (the base URL
and a one-way fingerprint of the token, never the token), and a load from another is refused in one line.
The demo's directory takes no load from an API at all, a sandbox on loopback included."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import httpx
import pytest

from analytics_pipeline.api import AnalyticsClient
from analytics_pipeline.api.errors import Unauthorized
from analytics_pipeline.config.datadir import claim_source
from analytics_pipeline.config.paths import SANDBOX_MARKER, SOURCE_MARKER
from analytics_pipeline.config.settings import ConfigError
from analytics_pipeline.dates import utc_today, yesterday
from analytics_pipeline.defs.resources import AnalyticsApiResource
from analytics_pipeline.privacy.secret import Secret
from analytics_pipeline.sandbox import SandboxServer, SyntheticOrg
from analytics_pipeline_tests.conftest import (
    TEST_BURST,
    TEST_REQUESTS_PER_MINUTE,
    assert_one_line_error,
    run_cli,
    sandbox_env,
)

pytestmark = pytest.mark.usefixtures("clean_environment")

TOKEN = "org-a-token-0123456789"
OTHER_TOKEN = "org-b-token-9876543210"
DAY = str(yesterday(utc_today()))
BACKFILL = ("backfill", "--start", DAY, "--end", DAY)
PLAN = ("plan", "--start", DAY, "--end", DAY)


def _server() -> SandboxServer:
    # Both tokens are accepted, as two organisations' would be by the real API.
    return SandboxServer(
        SyntheticOrg(seed=9, people=10, service_accounts=1),
        tokens=(TOKEN, OTHER_TOKEN),
        requests_per_minute=TEST_REQUESTS_PER_MINUTE,
        burst=TEST_BURST,
    )


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with _server() as server:
        yield server


def people(data_dir: Path) -> int:
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        return con.execute("select count(*) from dim_users").fetchall()[0][0]


def recorded(data_dir: Path) -> dict[str, str]:
    return json.loads((data_dir / SOURCE_MARKER).read_text(encoding="utf-8"))


def test_a_directory_refuses_another_token_until_its_record_is_deleted(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    assert run_cli(*BACKFILL, env=sandbox_env(sandbox, tmp_path, TOKEN)).exit_code == 0
    assert recorded(data_dir) == {"base_url": sandbox.url, "token_fingerprint": Secret(TOKEN).fingerprint()}
    assert TOKEN not in (data_dir / SOURCE_MARKER).read_text()
    loaded, sent = people(data_dir), sandbox.stats.total

    for command in (BACKFILL, ("nightly",), PLAN):
        result = run_cli(*command, env=sandbox_env(sandbox, tmp_path, OTHER_TOKEN))
        assert_one_line_error(result, "holds data loaded with another AUGMENT_API_TOKEN (fingerprint ")
        assert "set ANALYTICS_DATA_DIR to another directory for another organisation" in result.output
        assert f"rotated for the same organisation, delete {data_dir / SOURCE_MARKER}" in result.output
        assert OTHER_TOKEN not in result.output
    assert sandbox.stats.total == sent and people(data_dir) == loaded  # refused before any request

    # A rotated token: deleting the record accepts it (as a directory loaded before records existed),
    # and the next request the API accepts records it.
    (data_dir / SOURCE_MARKER).unlink()
    before = str(dt.date.fromisoformat(DAY) - dt.timedelta(days=1))
    backfill = ("backfill", "--start", before, "--end", DAY)
    assert run_cli(*backfill, env=sandbox_env(sandbox, tmp_path, OTHER_TOKEN)).exit_code == 0
    assert recorded(data_dir)["token_fingerprint"] == Secret(OTHER_TOKEN).fingerprint()


def test_a_directory_refuses_another_api(sandbox: SandboxServer, tmp_path: Path) -> None:
    assert run_cli(*BACKFILL, env=sandbox_env(sandbox, tmp_path, TOKEN)).exit_code == 0
    with _server() as elsewhere:
        for command in (BACKFILL, PLAN):
            result = run_cli(*command, env=sandbox_env(elsewhere, tmp_path, TOKEN))
            assert_one_line_error(result, f"holds data loaded from {sandbox.url} (as .source records)")
            assert elsewhere.stats.total == 0


def test_a_rejected_token_or_a_plan_records_nothing(sandbox: SandboxServer, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    result = run_cli(*BACKFILL, env=sandbox_env(sandbox, tmp_path, "a-typo-in-the-token"))
    assert_one_line_error(result, "the API rejected the token (401)")
    assert run_cli(*PLAN, env=sandbox_env(sandbox, tmp_path, OTHER_TOKEN)).exit_code == 0
    assert not (data_dir / SOURCE_MARKER).exists()
    assert run_cli(*BACKFILL, env=sandbox_env(sandbox, tmp_path, TOKEN)).exit_code == 0
    assert recorded(data_dir)["token_fingerprint"] == Secret(TOKEN).fingerprint()


def test_data_loaded_before_the_record_existed_takes_the_next_token(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    (data_dir / "raw").mkdir(parents=True)
    assert run_cli(*BACKFILL, env=sandbox_env(sandbox, tmp_path, OTHER_TOKEN)).exit_code == 0
    assert recorded(data_dir)["token_fingerprint"] == Secret(OTHER_TOKEN).fingerprint()


def test_the_demo_directory_takes_no_api_load_not_even_from_loopback(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / SANDBOX_MARKER).touch()
    for command in (BACKFILL, ("nightly",), PLAN):
        result = run_cli(*command, env=sandbox_env(sandbox, tmp_path, TOKEN))
        assert_one_line_error(result, "holds the demo's synthetic data; set ANALYTICS_DATA_DIR to another")
    assert sorted(p.name for p in data_dir.iterdir()) == [SANDBOX_MARKER]


def test_a_run_launched_from_dagster_is_refused_before_any_request(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    claim_source(data_dir, sandbox.url, Secret(TOKEN))
    monkeypatch.setenv("AUGMENT_API_TOKEN", OTHER_TOKEN)
    api = AnalyticsApiResource(
        base_url=sandbox.url, token=dg.EnvVar("AUGMENT_API_TOKEN"), data_dir=str(data_dir)
    )
    sent = sandbox.stats.total
    with (
        dg.build_resources({"api": api}) as resources,
        pytest.raises(ConfigError, match="another AUGMENT_API_TOKEN"),
        resources.api.client(),
    ):
        pass
    assert sandbox.stats.total == sent


def test_the_record_is_written_once(tmp_path: Path) -> None:
    claim_source(tmp_path, "https://api.example.test", Secret(TOKEN))
    claim_source(tmp_path, "https://api.example.test", Secret(TOKEN))  # the same source: fine
    with pytest.raises(ConfigError, match="another AUGMENT_API_TOKEN"):
        claim_source(tmp_path, "https://api.example.test", Secret(OTHER_TOKEN))
    with pytest.raises(ConfigError, match=re.escape("holds data loaded from https://api.example.test")):
        claim_source(tmp_path, "https://other.example.test", Secret(TOKEN))
    assert recorded(tmp_path)["token_fingerprint"] == Secret(TOKEN).fingerprint()
    assert [p.name for p in tmp_path.iterdir()] == [SOURCE_MARKER]  # no temporary file left
    assert (tmp_path / SOURCE_MARKER).stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("content", ["", "{", '{"base_url": 1}', "[]"])
def test_an_unreadable_record_is_a_one_line_error(tmp_path: Path, content: str) -> None:
    (tmp_path / SOURCE_MARKER).write_text(content)
    with pytest.raises(ConfigError, match=r"\.source is unreadable; .* restore it from a backup") as info:
        claim_source(tmp_path, "https://api.example.test", Secret(TOKEN))
    assert "\n" not in str(info.value)


def test_the_client_reports_the_first_accepted_response_before_returning_its_records() -> None:
    """What records the source: called once, after a success (never after a refusal), and if it raises,
    the records are never handed to the landing code."""
    statuses = iter([401, 200, 200])
    calls: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        status = next(statuses)
        return httpx.Response(status, json={"daily_active_user_counts": [{"date": DAY, "user_count": 1}]})

    def refuse() -> None:
        calls.append("accepted")
        raise ConfigError("another source")

    day = dt.date.fromisoformat(DAY)
    client = AnalyticsClient(
        "https://api.example.test", Secret(TOKEN), transport=httpx.MockTransport(answer), on_accepted=refuse
    )
    with pytest.raises(Unauthorized):
        client.dau_count(day, day)
    assert calls == []
    with pytest.raises(ConfigError):
        client.dau_count(day, day)
    assert calls == ["accepted"]

    accepted: list[str] = []
    client = AnalyticsClient(
        "https://api.example.test",
        Secret(TOKEN),
        transport=httpx.MockTransport(lambda r: httpx.Response(200, json={"daily_active_user_counts": []})),
        on_accepted=lambda: accepted.append("accepted"),
    )
    client.dau_count(day, day)
    client.dau_count(day, day)
    assert accepted == ["accepted"]
