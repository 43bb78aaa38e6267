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

from analytics_pipeline.api.endpoints import USER_ACTIVITY
from analytics_pipeline.dates import days_between, utc_today, yesterday
from analytics_pipeline.landing import RawStore
from analytics_pipeline.sandbox import SandboxRequest, SandboxResponse, SandboxServer, SyntheticOrg
from analytics_pipeline.warehouse import Warehouse
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


def _repeat_first(path_end: str, key: str, differ: bool = False) -> Change:
    """Answers to ``path_end`` send their first record twice (the copy with one more message, if asked)."""

    def change(path: str, body: dict[str, Any]) -> None:
        if path.endswith(path_end) and body[key]:
            copy = json.loads(json.dumps(body[key][0]))
            if differ:
                copy["metrics"]["total_messages"] += 1
            body[key].append(copy)

    return change


def test_a_record_the_api_repeats_is_loaded_once(
    answering: Callable[[Change], SandboxServer], tmp_path: Path
) -> None:
    env = sandbox_env(answering(_repeat_first("/user-activity", "users")), tmp_path)
    args = ("backfill", "--start", str(START), "--end", str(END), "--endpoints", "user_activity")
    first = run_cli(*args, env=env)
    assert first.exit_code == 0, first.output
    with Warehouse(tmp_path / "data" / "warehouse.duckdb").reader() as con:
        sql = "select count(*), count(distinct (date, user_key)) from fct_user_activity"
        rows, keys = con.execute(sql).fetchone()
    assert rows == keys > 0
    store = RawStore(tmp_path / "data" / "raw")
    collapsed = [store.info(USER_ACTIVITY, day).duplicates_collapsed for day in days_between(START, END)]
    assert collapsed == [1, 1, 1]
    assert "3 already loaded" in run_cli(*args, env=env).output


def test_records_the_api_sends_twice_with_different_content_fail_their_day_with_one_line(
    answering: Callable[[Change], SandboxServer], tmp_path: Path
) -> None:
    env = sandbox_env(answering(_repeat_first("/user-activity", "users", differ=True)), tmp_path)
    result = run_cli(
        "backfill", "--start", str(START), "--end", str(END), "--endpoints", "user_activity", env=env
    )
    assert result.exit_code == 1, result.output
    line = result.output.strip().splitlines()[-1]
    assert line.startswith(f"analytics-pipeline: error: user_activity {END}: two records share one ")
    assert "(user_email, service_account_name) but differ" in line and "@" not in result.output
    assert _landed(tmp_path / "data", "user_activity") == []
    assert not (tmp_path / "data" / "warehouse.duckdb").exists() or _loaded(tmp_path, "user_activity") == 0


def _loaded(tmp_path: Path, endpoint: str) -> int:
    with Warehouse(tmp_path / "data" / "warehouse.duckdb").reader() as con:
        sql = "select count(*) from pipeline_partitions where endpoint = ?"
        return con.execute(sql, [endpoint]).fetchone()[0]
