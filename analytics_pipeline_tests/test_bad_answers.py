"""Answers the API should never send: one line naming the endpoint, the day or window and the field,
exit code 1, and nothing landed for that window; never a traceback, never an email."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from analytics_pipeline.dates import utc_today, yesterday
from analytics_pipeline.sandbox import SandboxRequest, SandboxResponse, SandboxServer, SyntheticOrg
from analytics_pipeline_tests.conftest import SANDBOX_TOKEN, run_cli, sandbox_env

pytestmark = pytest.mark.usefixtures("clean_environment")

END = yesterday(utc_today())
START = END - dt.timedelta(days=2)
Change = Callable[[str, dict[str, Any]], None]
"""Changes an answer's body in place, given the request's path."""


@pytest.fixture
def answering() -> Iterator[Callable[[Change], SandboxServer]]:
    """A sandbox of its own whose successful answers pass through a test's change."""
    servers: list[SandboxServer] = []

    def start(change: Change) -> SandboxServer:
        def before(request: SandboxRequest, response: SandboxResponse) -> SandboxResponse:
            if response.status != 200:
                return response
            body = json.loads(response.body)
            change(request.path, body)
            return dataclasses.replace(response, body=json.dumps(body).encode())

        org = SyntheticOrg(seed=5, people=6, service_accounts=1)
        server = SandboxServer(org, tokens=(SANDBOX_TOKEN,), requests_per_minute=None)
        server.before_response = before
        servers.append(server.__enter__())
        return server

    yield start
    for server in servers:
        server.__exit__(None, None, None)


def _set(path_end: str, key: str, field: str, value: object, nested: str | None = None) -> Change:
    """Set ``field`` (inside ``nested`` when given) of the first record of the answers to ``path_end``."""

    def change(path: str, body: dict[str, Any]) -> None:
        if path.endswith(path_end) and body[key]:
            record = body[key][0]
            (record[nested] if nested else record)[field] = value

    return change


def _landed(data_dir: Path, endpoint: str) -> list[Path]:
    return sorted((data_dir / "raw" / endpoint).rglob("*.parquet"))


@pytest.mark.parametrize(
    ("endpoint", "change", "fragments"),
    [
        (
            "dau_count",
            _set("/dau-count", "daily_active_user_counts", "user_count", "twelve"),
            ["dau_count", f"{START}..{END}", "field user_count should be int, got 'twelve'"],
        ),
        (
            "dau_count",
            _set("/dau-count", "daily_active_user_counts", "user_count", 10**30),
            ["dau_count", f"{START}..{END}", "field user_count is 1000000", "beyond a 64-bit integer"],
        ),
        (
            "dau_count",
            _set("/dau-count", "daily_active_user_counts", "date", "2020-01-01"),
            ["dau_count", f"{START}..{END}", "'date' is 2020-01-01, outside"],
        ),
        (
            "dau_count",
            _set("/dau-count", "daily_active_user_counts", "user_count", -5),
            ["dau_count", f"{START}..{END}", "field user_count is -5; a count cannot be negative"],
        ),
        (
            "daily_usage",
            _set("/daily-usage", "daily_usage", "chat_messages", 10**30, nested="metrics"),
            ["daily_usage", f"{START}..{END}", "field metrics.chat_messages", "beyond a 64-bit integer"],
        ),
        (
            "credit_usage",
            _set("/credit-usage-by-user", "records", "credits_consumed", float("nan")),
            ["credit_usage", f"{START}..{END}", "field credits_consumed is nan, not a finite number"],
        ),
        (
            "dau",
            _set("/dau", "users", "user_email", 42),
            ["dau", "field user_email should be string, got a int"],
        ),
    ],
    ids=[
        "wrong_type",
        "huge_int",
        "outside_range",
        "negative_count",
        "huge_metric",
        "nan_credits",
        "wrong_type_per_day",
    ],
)
def test_a_bad_answer_ends_with_one_line_and_lands_nothing_of_it(
    answering: Callable[[Change], SandboxServer],
    tmp_path: Path,
    endpoint: str,
    change: Change,
    fragments: list[str],
) -> None:
    env = sandbox_env(answering(change), tmp_path)
    result = run_cli("backfill", "--start", str(START), "--end", str(END), "--endpoints", endpoint, env=env)
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    error = [line for line in lines if line.startswith("analytics-pipeline: error: ")]
    assert len(error) == 1 and lines[-1] == error[0], result.output
    assert all(fragment in error[0] for fragment in fragments), error[0]
    assert "report it to Augment support" in error[0]
    assert "Traceback" not in result.output and "@" not in result.output
    assert _landed(tmp_path / "data", endpoint) == []
