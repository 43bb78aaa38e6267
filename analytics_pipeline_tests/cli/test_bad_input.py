"""Bad input and configuration: one line naming the problem and the fix, exit code 2, nothing written.

"Nothing written" means no landed partition, no warehouse and no report. A request the API refused
(401, 403) still leaves the data directory's bookkeeping: the rate limiter's state (``.state/``: the
request was sent and counts against the budget), ``.emails`` (whether the directory's emails are
pseudonymised, claimed before the first request) and a backfill's claims of the partitions it was
about to fetch (``raw/**/.fetch.lock``, lock files that stay by design).
"""

import datetime as dt
from pathlib import Path

import pytest

from analytics_pipeline.landing.land import CLAIM_NAME
from analytics_pipeline.sandbox import SandboxServer
from analytics_pipeline_tests.conftest import SANDBOX_TOKEN, assert_one_line_error, run_cli, sandbox_env

pytestmark = pytest.mark.usefixtures("clean_environment")

YESTERDAY = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)


BOOKKEEPING = (".state", ".emails")


def _written(data_dir: Path) -> list[str]:
    """What a command left in the data directory, besides its bookkeeping."""
    if not data_dir.exists():
        return []
    return sorted(
        str(p.relative_to(data_dir))
        for p in data_dir.rglob("*")
        if p.is_file() and p.relative_to(data_dir).parts[0] not in BOOKKEEPING and p.name != CLAIM_NAME
    )


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (
            ("backfill", "--start", "2026-02-30", "--end", "2026-03-01"),
            "--start must be a date in YYYY-MM-DD",
        ),
        (
            ("backfill", "--start", "2026-03-05", "--end", "2026-03-01"),
            "--end 2026-03-01 is before --start 2026-03-05; swap them",
        ),
        (("backfill", "--start", "2000-01-01", "--end", "2000-01-02"), "beyond the API's 2-year lookback"),
        (
            ("backfill", "--start", str(YESTERDAY), "--end", str(YESTERDAY + dt.timedelta(days=1))),
            "not a complete UTC day yet",
        ),
        (("plan", "--start", "2026-03-05", "--end", "2026-03-01"), "swap them"),
        (
            ("backfill", "--start", str(YESTERDAY), "--end", str(YESTERDAY), "--endpoints", "dau,commits"),
            "--endpoints: unknown endpoint 'commits'; use a comma-separated list of: dau_count, dau",
        ),
        (
            ("plan", "--start", str(YESTERDAY), "--end", str(YESTERDAY), "--endpoints", ","),
            "--endpoints: unknown endpoint",
        ),
    ],
)
def test_bad_arguments(sandbox: SandboxServer, tmp_path: Path, args: tuple[str, ...], fragment: str) -> None:
    env = sandbox_env(sandbox, tmp_path)
    assert_one_line_error(run_cli(*args, env=env), fragment)
    assert not (tmp_path / "data").exists()


def test_a_start_before_the_configured_first_partition_is_refused(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    env = {**sandbox_env(sandbox, tmp_path), "ANALYTICS_START_DATE": str(YESTERDAY)}
    before = YESTERDAY - dt.timedelta(days=1)
    result = run_cli("backfill", "--start", str(before), "--end", str(YESTERDAY), env=env)
    assert_one_line_error(result, f"--start {before} is before the first partition {YESTERDAY}")


@pytest.mark.parametrize("command", ["plan", "backfill"])
def test_fetching_beyond_the_lookback_is_refused_before_any_request(
    sandbox: SandboxServer, tmp_path: Path, command: str
) -> None:
    """A start configured years ago stays valid; only fetching a day the API no longer serves is refused."""
    old = YESTERDAY - dt.timedelta(days=3 * 365)
    env = {**sandbox_env(sandbox, tmp_path), "ANALYTICS_START_DATE": old.isoformat()}
    before = sandbox.stats.total
    result = run_cli(command, "--start", old.isoformat(), "--end", str(YESTERDAY), env=env)
    assert_one_line_error(result, f"--start {old} is beyond the API's 2-year lookback: it serves ")
    assert "use --start " in result.output
    assert sandbox.stats.total == before
    assert _written(tmp_path / "data") == []


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"AUGMENT_API_TOKEN": ""}, "AUGMENT_API_TOKEN is not set; export your service-account token"),
        (
            {"AUGMENT_API_BASE_URL": "http://api.example.com"},
            "use https://, or http:// only for 127.0.0.1/localhost",
        ),
        ({"AUGMENT_API_REQUESTS_PER_MINUTE": "fast"}, "AUGMENT_API_REQUESTS_PER_MINUTE must be a number"),
        ({"ANALYTICS_RECHECK_DAYS": "99"}, "ANALYTICS_RECHECK_DAYS must be a whole number from 0"),
    ],
)
@pytest.mark.parametrize(
    "command", [("nightly",), ("backfill", "--start", str(YESTERDAY), "--end", str(YESTERDAY))]
)
def test_bad_configuration(
    sandbox: SandboxServer, tmp_path: Path, overrides: dict[str, str], fragment: str, command: tuple[str, ...]
) -> None:
    env = {**sandbox_env(sandbox, tmp_path), **overrides}
    assert_one_line_error(run_cli(*command, env=env), fragment)
    assert not (tmp_path / "data").exists()


@pytest.mark.parametrize(
    ("token", "fragment"),
    [
        ("revoked-or-unknown-token", "the API rejected the token (401): check AUGMENT_API_TOKEN"),
        ("sandbox-readonly", "the token lacks permission (403): use an Enterprise service-account token"),
    ],
)
@pytest.mark.parametrize(
    "command", [("nightly",), ("backfill", "--start", str(YESTERDAY), "--end", str(YESTERDAY))]
)
def test_rejected_token(
    sandbox: SandboxServer, tmp_path: Path, token: str, fragment: str, command: tuple[str, ...]
) -> None:
    result = run_cli(*command, env=sandbox_env(sandbox, tmp_path, token=token))
    assert_one_line_error(result, fragment)
    assert token not in result.output
    assert _written(tmp_path / "data") == []


def test_a_token_that_lost_its_permission_lands_no_reused_budget_snapshot(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    """A fresh budget snapshot from an earlier run is reused for older days only once a request has
    confirmed it: with a 403 token, nothing more is landed."""
    # Its own server: the token itself loses its permission (another token would be refused by .source).
    with SandboxServer(sandbox.org, tokens=(SANDBOX_TOKEN,), requests_per_minute=None) as server:
        env = sandbox_env(server, tmp_path)
        assert run_cli("backfill", "--start", str(YESTERDAY), "--end", str(YESTERDAY), env=env).exit_code == 0
        before = _written(tmp_path / "data")
        older = str(YESTERDAY - dt.timedelta(days=3))
        server.forbidden_tokens = frozenset({SANDBOX_TOKEN})
        result = run_cli("backfill", "--start", older, "--end", older, env=env)
    assert_one_line_error(result, "the token lacks permission (403)")
    assert _written(tmp_path / "data") == before


@pytest.mark.parametrize("where", ["a_file", "inside_a_file", "/proc/analytics-pipeline-data"])
@pytest.mark.parametrize(
    "command", [("nightly",), ("backfill", "--start", str(YESTERDAY), "--end", str(YESTERDAY))]
)
def test_unusable_data_directory(
    sandbox: SandboxServer, tmp_path: Path, where: str, command: tuple[str, ...]
) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a directory")
    data_dir = {"a_file": blocker, "inside_a_file": blocker / "data"}.get(where, Path(where))
    env = {**sandbox_env(sandbox, tmp_path), "ANALYTICS_DATA_DIR": str(data_dir)}
    result = run_cli(*command, env=env)
    fragment = "is not a directory" if where == "a_file" else "cannot create ANALYTICS_DATA_DIR"
    assert_one_line_error(result, fragment)
    assert blocker.read_text() == "not a directory"


def test_a_bad_command_leaves_landed_data_alone(sandbox: SandboxServer, tmp_path: Path) -> None:
    env = sandbox_env(sandbox, tmp_path)
    assert run_cli("backfill", "--start", str(YESTERDAY), "--end", str(YESTERDAY), env=env).exit_code == 0
    before = {p: p.read_bytes() for p in (tmp_path / "data").rglob("*.parquet")}
    warehouse = (tmp_path / "data" / "warehouse.duckdb").read_bytes()
    for args, extra in [
        (("backfill", "--start", "2026-03-05", "--end", "2026-03-01"), {}),
        (("nightly",), {"AUGMENT_API_TOKEN": "revoked-or-unknown-token"}),
        (("nightly",), {"AUGMENT_API_BASE_URL": "http://api.example.com"}),
    ]:
        assert run_cli(*args, env={**env, **extra}).exit_code == 2
    assert {p: p.read_bytes() for p in (tmp_path / "data").rglob("*.parquet")} == before
    assert (tmp_path / "data" / "warehouse.duckdb").read_bytes() == warehouse
