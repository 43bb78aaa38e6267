"""Two backfills at once over the same days (same token and data directory): each partition is fetched
once, by whichever process gets to it first; the other waits for it, then finds it landed."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
from collections.abc import Iterator
from multiprocessing.synchronize import Barrier
from pathlib import Path

import dagster as dg
import pytest

from analytics_pipeline.api.endpoints import BUDGET_PERIODS, BUDGET_RESOURCES
from analytics_pipeline.backfill.scheduler import backfill
from analytics_pipeline.config.settings import Settings
from analytics_pipeline.dates import utc_today, yesterday
from analytics_pipeline.defs.build import build_definitions
from analytics_pipeline.landing import RawStore
from analytics_pipeline.sandbox import SandboxRequest, SandboxResponse, SandboxServer, SyntheticOrg
from analytics_pipeline.warehouse import Warehouse
from analytics_pipeline_tests.conftest import (
    SANDBOX_TOKEN,
    TEST_BURST,
    TEST_REQUESTS_PER_MINUTE,
    warehouse_snapshot,
)

TODAY = utc_today()
END = yesterday(TODAY)
START = END - dt.timedelta(days=5)
SNAPSHOT_REQUESTS = len(BUDGET_RESOURCES) * len(BUDGET_PERIODS)
"""What a budget snapshot costs: each backfill may take its own (they are real-time configuration)."""


def _env(server: SandboxServer, data_dir: Path) -> dict[str, str]:
    return {
        "AUGMENT_API_TOKEN": SANDBOX_TOKEN,
        "AUGMENT_API_BASE_URL": server.url,
        "ANALYTICS_DATA_DIR": str(data_dir),
        "AUGMENT_API_REQUESTS_PER_MINUTE": str(TEST_REQUESTS_PER_MINUTE),
        "AUGMENT_API_BURST": str(TEST_BURST),
    }


def run_backfill(env: dict[str, str], barrier: Barrier | None = None) -> None:
    """One backfill of START..END, as ``analytics-pipeline backfill`` runs it; with a barrier, it
    starts fetching when every party is ready (a child process's entry point)."""
    os.environ.update(env)
    data_dir = Path(env["ANALYTICS_DATA_DIR"])
    settings = Settings.from_env(env, env_file=data_dir / "no.env", today=TODAY)
    defs = build_definitions(settings)
    if barrier is not None:
        barrier.wait(timeout=120)
    backfill(
        defs,
        Warehouse(data_dir / "warehouse.duckdb"),
        RawStore(data_dir / "raw"),
        START,
        END,
        instance=dg.DagsterInstance.ephemeral(),
        today=lambda: TODAY,
    )


def slowly(request: SandboxRequest, response: SandboxResponse) -> SandboxResponse:
    """Every answer 20 ms late: fetches last long enough for the two processes to meet on them."""
    response.delay = 0.02
    return response


@pytest.fixture
def server() -> Iterator[SandboxServer]:
    org = SyntheticOrg(seed=21, people=30, service_accounts=2)
    with SandboxServer(
        org,
        tokens=(SANDBOX_TOKEN,),
        requests_per_minute=TEST_REQUESTS_PER_MINUTE,
        burst=TEST_BURST,
        today=TODAY,
    ) as sandbox:
        sandbox.before_response = slowly
        yield sandbox


def test_two_backfills_of_the_same_days_at_once_fetch_each_partition_once(
    server: SandboxServer, tmp_path: Path
) -> None:
    run_backfill(_env(server, tmp_path / "alone"))
    alone = server.stats.total
    server.stats.reset()

    shared = _env(server, tmp_path / "shared")
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    children = [context.Process(target=run_backfill, args=(shared, barrier)) for _ in range(2)]
    for child in children:
        child.start()
    for child in children:
        child.join(timeout=300)
    assert [child.exitcode for child in children] == [0, 0]

    assert alone <= server.stats.total <= alone + SNAPSHOT_REQUESTS, (alone, server.stats.by_path)
    assert server.stats.rate_limited == 0
    assert warehouse_snapshot(tmp_path / "shared") == warehouse_snapshot(tmp_path / "alone")
