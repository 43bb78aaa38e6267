"""Beyond one machine: two hosts sharing only PostgreSQL and a path backfill the two halves of 20 days at
once within one rate-limit budget, and a third host reads everything a single machine would have."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from analytics_pipeline.dates import utc_today, yesterday
from analytics_pipeline.sandbox import SandboxServer, SyntheticOrg
from analytics_pipeline_tests.conftest import run_cli, sandbox_env
from analytics_pipeline_tests.postgres_server import PostgresServer
from analytics_pipeline_tests.scenarios.two_hosts import FACT_TABLES, TOKEN, export_query, run_two_hosts

END = yesterday(utc_today()) - dt.timedelta(days=3)
START = END - dt.timedelta(days=19)


def test_two_hosts_share_one_budget_and_a_third_reads_what_one_machine_loads(
    org: SyntheticOrg, sandbox: SandboxServer, postgres: PostgresServer, tmp_path: Path
) -> None:
    # The API's own limits, as the acceptance states them: 120 a minute after a burst of 20.
    with SandboxServer(org, tokens=(TOKEN,), requests_per_minute=120, burst=20) as limited:
        hosts = run_two_hosts(tmp_path / "hosts", limited, postgres, START, END)

    single = sandbox_env(sandbox, tmp_path / "single")
    assert run_cli("backfill", "--start", str(START), "--end", str(END), env=single).exit_code == 0
    expected = {}
    for table in FACT_TABLES:
        out = tmp_path / f"{table}.csv"
        query = export_query(table)
        assert (
            run_cli("export", "--query", query, "--format", "csv", "--out", str(out), env=single).exit_code
            == 0
        )
        expected[table] = out.read_text()

    assert hosts.rate_limited == 0
    assert hosts.exports == expected
    assert all(text.count("\n") > 1 for text in expected.values())  # every table holds rows
    assert not (tmp_path / "hosts" / "c" / "data" / "raw").exists()  # the reader fetched nothing
    password = postgres.password
    assert not any(password in output for output in hosts.outputs)
    for path in (tmp_path / "hosts").rglob("*"):
        if path.is_file() and path.stat().st_size < 10_000_000:
            assert password.encode() not in path.read_bytes(), path
