"""Two "hosts" backfilling the two halves of a range at once, sharing only a PostgreSQL server and a path.

Each host is a process of its own, with its own data directory and ``HOME``, and the scale-out settings
every host of a deployment would have: the limiter's state in PostgreSQL (``ANALYTICS_STATE_URL``), raw
partitions on the shared path (``ANALYTICS_RAW_URL``), and the warehouse a DuckLake whose catalog is in
PostgreSQL and whose files are on the shared path (``ANALYTICS_WAREHOUSE_URL``,
``ANALYTICS_LAKE_DATA_PATH``). A third host, with an empty data directory, exports every fact table.

Used by ``test_two_hosts.py``; ``python -m analytics_pipeline_tests.scenarios.two_hosts`` runs it once at
the issue's size (20 days, 120 requests a minute, burst 20) and prints what it measured.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from analytics_pipeline.api.endpoints import ASSET_ENDPOINTS
from analytics_pipeline.sandbox import SandboxServer, SyntheticOrg
from analytics_pipeline_tests.postgres_server import PostgresServer

TOKEN = "two-hosts-token"

FACT_TABLES = tuple(e.fact_table for e in ASSET_ENDPOINTS if e.fact_table)


def export_query(table: str) -> str:
    """Every row of ``table`` in a stable order, without the moment a snapshot was fetched."""
    columns = "* exclude (fetched_at)" if table == "fct_budget_overrides" else "*"
    return f"select {columns} from {table} order by all"


@dataclass
class TwoHostsResult:
    requests: int
    rate_limited: int
    seconds: float
    exports: dict[str, str]
    """Each fact table as the third host exported it (CSV text)."""
    outputs: list[str]
    """What each process printed, stdout and stderr (to search for secrets)."""


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "analytics_pipeline.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def host_env(
    root: Path, name: str, sandbox: SandboxServer, pg: PostgresServer, databases: tuple[str, str]
) -> dict[str, str]:
    """The environment of one host: its own data directory and ``HOME``, the shared settings."""
    state_db, lake_db = databases
    home = root / name / "home"
    home.mkdir(parents=True, exist_ok=True)
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "TMPDIR", "PYTHONPATH")}
    return {
        **keep,
        "HOME": str(home),
        "ANALYTICS_DATA_DIR": str(root / name / "data"),
        "AUGMENT_API_TOKEN": TOKEN,
        "AUGMENT_API_BASE_URL": sandbox.url,
        "AUGMENT_API_REQUESTS_PER_MINUTE": str(sandbox_rate(sandbox)[0]),
        "AUGMENT_API_BURST": str(sandbox_rate(sandbox)[1]),
        "ANALYTICS_STATE_URL": pg.url(state_db),
        "ANALYTICS_RAW_URL": str(root / "shared" / "raw"),
        "ANALYTICS_WAREHOUSE_URL": "ducklake:postgres:" + pg.libpq(lake_db),
        "ANALYTICS_LAKE_DATA_PATH": str(root / "shared" / "lake"),
    }


def sandbox_rate(sandbox: SandboxServer) -> tuple[float, int]:
    limiter = sandbox.limiter
    assert limiter is not None
    return limiter.rate * 60, limiter.burst


def run_two_hosts(
    root: Path, sandbox: SandboxServer, pg: PostgresServer, start: dt.date, end: dt.date
) -> TwoHostsResult:
    """Hosts a and b backfill ``start``..``end`` split in two halves, at once; host c exports."""
    databases = (pg.create_database(), pg.create_database())
    (root / "shared" / "lake").mkdir(parents=True)
    middle = start + dt.timedelta(days=(end - start).days // 2)
    halves = ((start, middle), (middle + dt.timedelta(days=1), end))
    sent_before = sandbox.stats.total
    began = time.monotonic()
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "analytics_pipeline.cli", "backfill", "--start", str(a), "--end", str(b)],
            env=host_env(root, name, sandbox, pg, databases),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for name, (a, b) in zip(("a", "b"), halves, strict=True)
    ]
    outputs = []
    for process in processes:
        out, _ = process.communicate(timeout=900)
        outputs.append(out)
        if process.returncode != 0:
            raise AssertionError(f"a host's backfill failed ({process.returncode}):\n{out}")
    seconds = time.monotonic() - began
    requests = sandbox.stats.total - sent_before

    reader = host_env(root, "c", sandbox, pg, databases)
    exports = {}
    for table in FACT_TABLES:
        out = root / "c" / f"{table}.csv"
        done = _run(["export", "--query", export_query(table), "--format", "csv", "--out", str(out)], reader)
        outputs.append(done.stdout + done.stderr)
        if done.returncode != 0:
            raise AssertionError(f"the third host's export of {table} failed:\n{done.stdout}{done.stderr}")
        exports[table] = out.read_text()
    return TwoHostsResult(requests, sandbox.stats.rate_limited, seconds, exports, outputs)


def main() -> None:
    import tempfile

    from analytics_pipeline.dates import utc_today, yesterday

    end = yesterday(utc_today()) - dt.timedelta(days=3)
    start = end - dt.timedelta(days=19)
    org = SyntheticOrg(seed=11, people=120, service_accounts=3)
    with (
        tempfile.TemporaryDirectory() as tmp,
        PostgresServer() as pg,
        SandboxServer(org, tokens=(TOKEN,), requests_per_minute=120, burst=20) as sandbox,
    ):
        result = run_two_hosts(Path(tmp), sandbox, pg, start, end)
    rows = sum(text.count("\n") - 1 for text in result.exports.values())
    print(
        f"two hosts, {start}..{end} in two halves at once, 120/min burst 20: {result.requests} requests, "
        f"{result.rate_limited} answered 429, {result.seconds:.1f} s; the third host exported {rows} rows "
        f"from {len(result.exports)} fact tables"
    )


if __name__ == "__main__":
    main()
