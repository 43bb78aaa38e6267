"""The command line: one-line errors with exit code 2, and the commands against the sandbox."""

import datetime as dt
import errno
import os
import socket
from pathlib import Path

import duckdb
import pytest
from click.testing import Result

from analytics_pipeline.sandbox import SandboxServer
from analytics_pipeline_tests.conftest import assert_one_line_error, run_cli, sandbox_env

pytestmark = pytest.mark.usefixtures("clean_environment")


def test_backfill_without_token(tmp_path: Path) -> None:
    day = (dt.date.today() - dt.timedelta(days=3)).isoformat()
    assert_one_line_error(run_cli("backfill", "--start", day, "--end", day), "AUGMENT_API_TOKEN is not set")


@pytest.mark.parametrize(
    ("start", "end", "fragment"),
    [
        ("2026-13-01", "2026-01-02", "--start must be a date in YYYY-MM-DD"),
        ("2026-01-05", "2026-01-02", "is before --start"),
        ("2026-01-01", "2999-01-01", "not a complete UTC day yet"),
        ("2001-01-01", "2001-01-02", "--start 2001-01-01 is beyond the API's 2-year lookback"),
    ],
)
def test_backfill_bad_dates(start: str, end: str, fragment: str) -> None:
    assert_one_line_error(
        run_cli("backfill", "--start", start, "--end", end, env={"AUGMENT_API_TOKEN": "x"}), fragment
    )


def test_non_loopback_http_url_is_refused() -> None:
    result = run_cli(
        "nightly", env={"AUGMENT_API_TOKEN": "x", "AUGMENT_API_BASE_URL": "http://api.example.com"}
    )
    assert_one_line_error(result, "plain http:// for the non-loopback host")


def test_backfill_against_the_sandbox_then_resume(sandbox: SandboxServer, tmp_path: Path) -> None:
    end = dt.date.today() - dt.timedelta(days=1)
    start = end - dt.timedelta(days=2)
    env = sandbox_env(sandbox, tmp_path)
    first = run_cli("backfill", "--start", start.isoformat(), "--end", end.isoformat(), env=env)
    assert first.exit_code == 0, first.output
    assert "[3/3 days]" in first.output and "ETA" in first.output
    again = run_cli("backfill", "--start", start.isoformat(), "--end", end.isoformat(), env=env)
    assert "3 already loaded, 0 runs, 0 requests" in again.output


def test_rejected_token_is_one_line_without_the_token(sandbox: SandboxServer, tmp_path: Path) -> None:
    env = sandbox_env(sandbox, tmp_path, token="revoked-token-value")
    result = run_cli("nightly", env=env)
    assert_one_line_error(result, "the API rejected the token (401)")
    assert "revoked-token-value" not in result.output


@pytest.mark.parametrize("recheck_days", [0, 3])
def test_nightly_loads_yesterday_and_the_provisional_days_before(
    sandbox: SandboxServer, tmp_path: Path, recheck_days: int
) -> None:
    env = {**sandbox_env(sandbox, tmp_path), "ANALYTICS_RECHECK_DAYS": str(recheck_days)}
    result = run_cli("nightly", env=env)
    assert result.exit_code == 0, result.output
    report = tmp_path / "data" / "reports" / "usage.html"
    assert f"Report: {report}" in result.output and report.is_file()  # refreshed by the run
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True) as con:
        days = con.execute(
            "select distinct date from pipeline_partitions "
            "where endpoint <> 'user_activity_monthly' order by 1"
        ).fetchall()
        months = con.execute(
            "select date from pipeline_partitions where endpoint = 'user_activity_monthly' order by 1"
        ).fetchall()
    # An empty warehouse: the re-check finds the provisional days before yesterday missing, and loads them.
    expected = [yesterday - dt.timedelta(days=n) for n in range(recheck_days, -1, -1)]
    assert days == [(d,) for d in expected]
    assert months == [(m,) for m in sorted({d.replace(day=1) for d in expected})]  # kept up to date
    if recheck_days:
        assert f"Re-checked {recheck_days} provisional days" in result.output
    else:
        assert result.output.startswith(f"Loaded {yesterday}. Report: ")


def test_demo_loads_14_days_without_a_token(tmp_path: Path) -> None:
    result = run_cli("demo")
    assert result.exit_code == 0, result.output
    assert "fct_dau_users" in result.output and "Credits by model" in result.output
    report = Path("data") / "reports" / "usage.html"
    assert result.output.strip().splitlines()[-1].startswith(f"Report: {report} ")  # the demo ends with it
    assert (tmp_path / report).is_file()
    with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from fct_dau_count").fetchall() == [(14,)]
        assert con.execute("select count(distinct endpoint) from pipeline_partitions").fetchall() == [(8,)]
        assert con.execute("select count(*) from fct_user_activity_monthly").fetchall()[0][0] > 0


def test_demo_refuses_a_directory_holding_real_data(tmp_path: Path) -> None:
    (tmp_path / "data" / "raw").mkdir(parents=True)
    assert_one_line_error(run_cli("demo"), "holds data loaded from the real API")


def test_real_load_refuses_the_demo_directory(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / ".sandbox-data").touch()
    result = run_cli("nightly", env={"AUGMENT_API_TOKEN": "x"})
    assert_one_line_error(result, "holds the demo's synthetic data")


def test_export_command(tmp_path: Path) -> None:
    from analytics_pipeline.warehouse import Warehouse

    with Warehouse(tmp_path / "data" / "warehouse.duckdb").writer() as con:
        con.execute(
            "insert into fct_dau_count values ('2026-11-01', 5, 'default'), ('2026-11-02', 7, 'default')"
        )
    result = run_cli(
        "export", "--table", "fct_dau_count", "--format", "csv", "--out", str(tmp_path / "dau.csv")
    )
    assert result.exit_code == 0, result.output
    assert "Wrote 2 rows" in result.output
    assert (tmp_path / "dau.csv").read_text().splitlines()[0] == "date,user_count,organization"
    query = "select sum(user_count) as users from fct_dau_count"
    result = run_cli("export", "--query", query, "--format", "parquet", "--out", str(tmp_path / "q.parquet"))
    assert result.exit_code == 0, result.output
    assert_one_line_error(
        run_cli("export", "--table", "no_such_table", "--format", "csv", "--out", str(tmp_path / "x.csv")),
        "no_such_table",
    )
    assert_one_line_error(
        run_cli("export", "--format", "csv", "--out", str(tmp_path / "x.csv")), "exactly one of"
    )


def test_the_commands_that_do_not_call_the_api_read_none_of_its_settings(tmp_path: Path) -> None:
    """export and report read the data directory alone: a broken API setting, no token, stop neither."""
    from analytics_pipeline.warehouse import Warehouse

    with Warehouse(tmp_path / "data" / "warehouse.duckdb").writer() as con:
        con.execute("insert into fct_dau_count values ('2026-11-01', 5, 'default')")
    env = {
        "AUGMENT_API_BASE_URL": "http://api.example.com",
        "AUGMENT_API_REQUESTS_PER_MINUTE": "fast",
        "ANALYTICS_START_DATE": "yesterday",
        "ANALYTICS_PSEUDONYMIZE": "true",
    }
    out = str(tmp_path / "dau.csv")
    exported = run_cli("export", "--table", "fct_dau_count", "--format", "csv", "--out", out, env=env)
    assert exported.exit_code == 0, exported.output
    assert_one_line_error(run_cli("report", env=env), "the warehouse has no loaded day yet")


# ------------------------------------------------------------------ advice after a failed run


RESUME = "run the same command again to resume"


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two attempts without waiting, so a failing request fails at once."""
    from analytics_pipeline.api import RetryPolicy
    from analytics_pipeline.defs.resources import AnalyticsApiResource

    monkeypatch.setattr(AnalyticsApiResource, "retry_policy", lambda self: RetryPolicy(2, base_delay=0))


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def backfill_yesterday(env: dict[str, str]) -> Result:
    day = (dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)).isoformat()
    return run_cli("backfill", "--start", day, "--end", day, env=env)


def assert_run_error(result: Result, fragment: str, *, resume: bool) -> str:
    """Exit code 1, one line naming the problem; the advice to run again only when it can help."""
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[-1].startswith("analytics-pipeline: error: "), result.output
    assert fragment in lines[-1], lines[-1]
    assert (RESUME in lines[-1]) is resume, lines[-1]
    assert "landed data is intact" in lines[-1]
    return lines[-1]


@pytest.mark.usefixtures("quick_retries")
def test_a_base_url_with_the_api_path_is_not_worth_running_again(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    env = {**sandbox_env(sandbox, tmp_path), "AUGMENT_API_BASE_URL": sandbox.url + "/analytics/v0"}
    line = assert_run_error(
        backfill_yesterday(env),
        "(check AUGMENT_API_BASE_URL: it should be the API's root such as https://api.augmentcode.com, "
        "without /analytics/v0; landed data is intact)",
        resume=False,
    )
    assert "HTTP 404" in line


@pytest.mark.usefixtures("quick_retries")
def test_https_to_an_http_server_says_so(sandbox: SandboxServer, tmp_path: Path) -> None:
    env = {**sandbox_env(sandbox, tmp_path), "AUGMENT_API_BASE_URL": sandbox.url.replace("http:", "https:")}
    address = sandbox.url.removeprefix("http://")
    assert_run_error(
        backfill_yesterday(env),
        f"(the server does not speak https at {address}: check AUGMENT_API_BASE_URL; landed data is intact)",
        resume=False,
    )


@pytest.mark.usefixtures("quick_retries")
def test_a_closed_port_says_nothing_listens_there(sandbox: SandboxServer, tmp_path: Path) -> None:
    port = closed_port()
    env = {**sandbox_env(sandbox, tmp_path), "AUGMENT_API_BASE_URL": f"http://127.0.0.1:{port}"}
    assert_run_error(
        backfill_yesterday(env),
        f"(nothing listens at 127.0.0.1:{port}: check AUGMENT_API_BASE_URL; landed data is intact)",
        resume=False,
    )


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES])
def test_a_read_only_data_directory_asks_for_a_writable_one(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    # Tests may run as root, whom permission bits do not stop: the first partition's folder fails to be
    # created as it would on a read-only mount (EROFS) or without permission (EACCES).
    from analytics_pipeline.landing import store

    def refuse(path: Path) -> None:
        raise OSError(code, os.strerror(code), str(path))

    monkeypatch.setattr(store, "_private_dir", refuse)
    assert_run_error(
        backfill_yesterday(sandbox_env(sandbox, tmp_path)),
        "(make ANALYTICS_DATA_DIR writable; landed data is intact)",
        resume=False,
    )


@pytest.mark.usefixtures("quick_retries")
def test_a_failing_api_is_worth_running_again(tmp_path: Path) -> None:
    from analytics_pipeline.sandbox import FaultInjector, FaultPlan, SyntheticOrg

    org = SyntheticOrg(seed=3, people=5, service_accounts=1)
    faults = FaultInjector(FaultPlan(error_rate=1.0))
    with SandboxServer(org, requests_per_minute=None, faults=faults) as failing:
        assert_run_error(backfill_yesterday(sandbox_env(failing, tmp_path)), "gave up after 2", resume=True)


@pytest.mark.parametrize(
    ("env", "env_file", "fragment"),
    [
        ({"AUGMENT_API_REQUESTS_PER_MINUTE": "nan"}, None, "AUGMENT_API_REQUESTS_PER_MINUTE must be finite"),
        ({"AUGMENT_API_REQUESTS_PER_MINUTE": "1e-9"}, None, "at least 0.01"),
        ({}, b"AUGMENT_API_TOKEN=tok-\xff\n", ".env is not UTF-8 text; save it as UTF-8"),
    ],
)
def test_settings_that_would_end_in_a_traceback_are_one_line(
    tmp_path: Path, env: dict[str, str], env_file: bytes | None, fragment: str
) -> None:
    commands = [("nightly",), ("plan", "--start", "2026-01-01", "--end", "2026-01-01")]
    if env_file is not None:
        (tmp_path / ".env").write_bytes(env_file)  # the working directory's, read by every command
        commands += [("demo",), ("report",)]
    for args in commands:
        assert_one_line_error(run_cli(*args, env={"AUGMENT_API_TOKEN": "x", **env}), fragment)
