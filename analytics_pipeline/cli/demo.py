"""The demo: the bundled sandbox API on loopback, the last 14 complete days, the real assets (the last
of which writes the usage report)."""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from analytics_pipeline.backfill.in_process import execute_range, instance_for_cli
from analytics_pipeline.config.paths import DataPaths
from analytics_pipeline.config.settings import DEFAULT_BURST, DEFAULT_REQUESTS_PER_MINUTE, Settings
from analytics_pipeline.dates import utc_today, yesterday
from analytics_pipeline.defs.build import build_definitions
from analytics_pipeline.privacy.secret import Secret
from analytics_pipeline.sandbox import SandboxServer, SyntheticOrg
from analytics_pipeline.warehouse import open_warehouse
from analytics_pipeline.warehouse.schema import TABLES
from analytics_pipeline.warehouse.sql import scalar

DEMO_DAYS = 14
DEMO_TOKEN = "sandbox-token"
# The real API allows 10 requests a minute; the demo's own sandbox allows 60 times that on both sides,
# so the demo takes seconds. Everything else (pages, date rules, the limiter itself) is as in production.
DEMO_REQUESTS_PER_MINUTE = 60 * DEFAULT_REQUESTS_PER_MINUTE
DEMO_BURST = DEFAULT_BURST

SUMMARIZED = tuple(table for table in TABLES if table not in ("pipeline_rechecks", "fct_budget_changes"))
"""The tables the demo's summary counts (a first run re-checks nothing and changes no budget)."""

EXAMPLE_QUERIES: tuple[tuple[str, str], ...] = (
    (
        "Daily active users, last 7 days",
        "select date, user_count from fct_dau_count order by date desc limit 7",
    ),
    (
        "Top 5 users by modified lines",
        "select user_key, sum(total_modified_lines_of_code) as lines, sum(total_messages) as messages\n"
        "from fct_user_activity group by user_key order by lines desc limit 5",
    ),
    (
        "Credits by model",
        "select model_name, sum(credits_consumed) as credits\n"
        "from fct_credit_usage group by model_name order by credits desc",
    ),
)


@dataclass(frozen=True)
class DemoResult:
    """What the demo loaded, where to, at what cost, with the example queries' output."""

    start: dt.date
    end: dt.date
    warehouse: str
    """Where the warehouse is."""
    read_only_shell: str
    """How to explore it from a ``duckdb`` shell."""
    row_counts: dict[str, int]
    examples: list[tuple[str, str, str]]
    requests: int
    seconds: float
    report: Path


@contextmanager
def _environment(overrides: dict[str, str]) -> Iterator[None]:
    """Set variables for the run (Dagster's EnvVar reads os.environ), restoring them afterwards."""
    saved = {key: os.environ.get(key) for key in overrides}
    os.environ.update(overrides)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def run_demo(
    data_dir: Path, *, people: int = 40, seed: int = 7, pseudonymize_key: Secret | None = None
) -> DemoResult:
    """Serve a synthetic organisation on loopback and load the last 14 complete days from it.

    With ``pseudonymize_key``, the synthetic emails are pseudonymised as real ones would be.
    """
    started = time.monotonic()
    end = yesterday(utc_today())
    start = end - dt.timedelta(days=DEMO_DAYS - 1)
    org = SyntheticOrg(seed=seed, people=people, service_accounts=3)
    with SandboxServer(
        org, tokens=(DEMO_TOKEN,), requests_per_minute=DEMO_REQUESTS_PER_MINUTE, burst=DEMO_BURST
    ) as server:
        env = {
            "AUGMENT_API_BASE_URL": server.url,
            "AUGMENT_API_TOKEN": DEMO_TOKEN,
            "AUGMENT_API_REQUESTS_PER_MINUTE": str(DEMO_REQUESTS_PER_MINUTE),
            "AUGMENT_API_BURST": str(DEMO_BURST),
            "ANALYTICS_DATA_DIR": str(data_dir),
            "ANALYTICS_START_DATE": start.isoformat(),
            "ANALYTICS_PSEUDONYMIZE": "1" if pseudonymize_key is not None else "0",
        }
        if pseudonymize_key is not None:
            env["ANALYTICS_PSEUDONYMIZE_KEY"] = pseudonymize_key.reveal()  # read back by Dagster's EnvVar
        with _environment(env):
            settings = Settings.from_env(env, env_file=Path("/nonexistent"))
            execute_range(build_definitions(settings), start, end, instance_for_cli())
        requests = server.stats.total
    paths = DataPaths(data_dir)
    warehouse = open_warehouse(settings.data_dir, settings.warehouse_url)
    with warehouse.reader() as con:
        counts = {t: scalar(con, f"select count(*) from {t}") for t in SUMMARIZED}
        examples = [(title, sql, str(con.sql(sql))) for title, sql in EXAMPLE_QUERIES]
    report = paths.report  # written by the usage_report asset, the run's last step
    if not report.is_file():
        raise RuntimeError(f"the run finished without writing the report {report}")
    return DemoResult(
        start,
        end,
        warehouse.description,
        warehouse.read_only_shell,
        counts,
        examples,
        requests,
        time.monotonic() - started,
        report,
    )
