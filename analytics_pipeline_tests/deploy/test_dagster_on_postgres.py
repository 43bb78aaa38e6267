"""deploy/ as shipped: a backfill of every asset launched through the webserver's GraphQL API, as the UI
launches one, run by the daemon on a PostgreSQL-backed instance, one process per run.

The deployment (code server, webserver, daemon: see ``dagster_deployment.py``) talks to a sandbox API
with a rate limit of its own, and the pipeline is configured with the same limit, as against the real
API. The backfill must finish with every run successful, without a single 429, with its runs and event
logs in PostgreSQL (nothing in SQLite), and leave the warehouse a plain ``analytics-pipeline backfill``
of the same days leaves.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dagster as dg
import psycopg2
import pytest

from analytics_pipeline.api.endpoints import DAU
from analytics_pipeline.dates import days_between, utc_today, yesterday
from analytics_pipeline.landing import RawStore
from analytics_pipeline.sandbox import SandboxServer, SyntheticOrg
from analytics_pipeline_tests.conftest import (
    CONTRACT_VARIABLES,
    SANDBOX_TOKEN,
    run_cli,
    sandbox_env,
    warehouse_snapshot,
)
from analytics_pipeline_tests.deploy.dagster_deployment import (
    ASSET_KEYS_QUERY,
    BACKFILL_QUERY,
    INSTANCE_QUERY,
    LAUNCH_BACKFILL_MUTATION,
    DagsterDeployment,
    dagster_deployment,
    wait_for,
)
from analytics_pipeline_tests.postgres_server import PostgresServer

END = yesterday(utc_today()) - dt.timedelta(days=10)
"""Days older than the re-check window: final, so a run of them re-checks nothing, on either side."""
START = END - dt.timedelta(days=3)
REQUESTS_PER_MINUTE = 120
"""The sandbox's limit, and the pipeline's: the real API's shape (a burst, then a steady rate), faster.
With a burst of 5, most of the backfill's two dozen requests wait on the rate limiter."""
BURST = 5
DEADLINE_SECONDS = 240
FINISHED = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}


@pytest.fixture
def rate_limited_api(org: SyntheticOrg) -> Iterator[SandboxServer]:
    """The deployment's own API: its 429s and requests are this test's alone."""
    with SandboxServer(
        org, tokens=(SANDBOX_TOKEN,), requests_per_minute=REQUESTS_PER_MINUTE, burst=BURST
    ) as server:
        yield server


def deployment_env(
    api: SandboxServer, data_dir: Path, postgres: PostgresServer, database: str
) -> dict[str, str]:
    """What every process of the deployment gets: the contract's variables and the instance's database."""
    inherited = {k: v for k, v in os.environ.items() if k not in CONTRACT_VARIABLES and k != "DAGSTER_HOME"}
    return {
        **inherited,
        "AUGMENT_API_TOKEN": SANDBOX_TOKEN,
        "AUGMENT_API_BASE_URL": api.url,
        "ANALYTICS_DATA_DIR": str(data_dir),
        "AUGMENT_API_REQUESTS_PER_MINUTE": str(REQUESTS_PER_MINUTE),
        "AUGMENT_API_BURST": str(BURST),
        "DAGSTER_PG_USERNAME": postgres.user,
        "DAGSTER_PG_PASSWORD": postgres.password,
        "DAGSTER_PG_HOST": postgres.host,
        "DAGSTER_PG_PORT": str(postgres.port),
        "DAGSTER_PG_DB": database,
    }


def launch_backfill_of_every_asset(
    dagster: DagsterDeployment, days: list[dt.date]
) -> tuple[str, list[dg.AssetKey]]:
    """What the UI sends for "Materialize all" over a range of partitions: the backfill's id, and the
    assets it selected."""
    keys = [node["assetKey"]["path"] for node in dagster.graphql(ASSET_KEYS_QUERY)["assetNodes"]]
    params = {
        "assetSelection": [{"path": path} for path in keys],
        "partitionNames": [d.isoformat() for d in days],
        "fromFailure": False,
        "tags": [],
    }
    launched = dagster.graphql(LAUNCH_BACKFILL_MUTATION, {"backfillParams": params})[
        "launchPartitionBackfill"
    ]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    return launched["backfillId"], [dg.AssetKey(path) for path in keys]


def finished_backfill(dagster: DagsterDeployment, backfill_id: str) -> dict[str, Any] | None:
    backfill = dagster.graphql(BACKFILL_QUERY, {"backfillId": backfill_id})["partitionBackfillOrError"]
    assert backfill["__typename"] == "PartitionBackfill", backfill
    return backfill if backfill["status"] in FINISHED else None


def test_a_backfill_launched_through_graphql_on_postgres_loads_what_a_plain_backfill_loads(
    rate_limited_api: SandboxServer,
    sandbox: SandboxServer,
    postgres: PostgresServer,
    postgres_database: str,
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    deadline = started + DEADLINE_SECONDS
    days = days_between(START, END)
    home, data_dir = tmp_path / "dagster_home", tmp_path / "deployed"
    env = deployment_env(rate_limited_api, data_dir, postgres, postgres_database)
    with dagster_deployment(home, env, tmp_path / "logs", deadline) as dagster:
        # The webserver reads deploy/dagster.yaml's queue and the API pool's limit.
        assert dagster.graphql(INSTANCE_QUERY)["instance"] == {
            "runQueuingSupported": True,
            "runQueueConfig": {"maxConcurrentRuns": 4},
            "poolConfig": {"poolGranularity": "op", "defaultPoolLimit": 1},
        }
        backfill_id, asset_keys = launch_backfill_of_every_asset(dagster, days)
        backfill = wait_for(
            "the backfill to finish", lambda: finished_backfill(dagster, backfill_id), deadline, dagster.logs
        )
        assert backfill["status"] in {"COMPLETED", "COMPLETED_SUCCESS"}, (backfill, dagster.logs())
        assert backfill["isAssetBackfill"] and backfill["runs"]
        assert {run["status"] for run in backfill["runs"]} == {"SUCCESS"}, backfill["runs"]
        first_requests = rate_limited_api.stats.total
        # The same backfill launched again resumes: no request (its days are final: nothing to re-check).
        again_id, _ = launch_backfill_of_every_asset(dagster, days)
        again = wait_for(
            "the second backfill to finish",
            lambda: finished_backfill(dagster, again_id),
            deadline,
            dagster.logs,
        )
        assert again["status"] in {"COMPLETED", "COMPLETED_SUCCESS"}, (again, dagster.logs())
        assert rate_limited_api.stats.total == first_requests
    assert rate_limited_api.stats.rate_limited == 0, rate_limited_api.stats.snapshot()
    # No noise from DuckDB's bindings as the code server, the daemon and their runs exit (the DuckDB 2.0
    # release's printed ~120 "nanobind: leaked" lines a process).
    for log in (tmp_path / "logs").glob("*.log"):
        assert "nanobind" not in log.read_text(errors="replace"), log.name

    # The instance is PostgreSQL: the runs and their events are there, nothing in a local SQLite file.
    assert not list(home.rglob("*.db"))
    run_ids = [run["runId"] for run in backfill["runs"]]
    with psycopg2.connect(postgres.url(postgres_database)) as con, con.cursor() as cur:
        cur.execute(
            "select r.run_id, r.status from runs r join run_tags t on t.run_id = r.run_id "
            "where t.key = 'dagster/backfill' and t.value = %s",
            (backfill_id,),
        )
        assert dict(cur.fetchall()) == dict.fromkeys(run_ids, "SUCCESS")
        cur.execute(
            "select distinct asset_key, partition from event_logs "
            "where dagster_event_type = 'ASSET_MATERIALIZATION' and run_id = any(%s)",
            (run_ids,),
        )
        materialized = set(cur.fetchall())
        # In-process: the run's steps in its own process, none in a subprocess of its own.
        cur.execute(
            "select count(*) from event_logs where run_id = any(%s) and event like %s",
            (run_ids, "%Executing steps in process%"),
        )
        assert cur.fetchone()[0] == len(run_ids)
        cur.execute(
            "select event from event_logs where dagster_event_type = 'ASSET_MATERIALIZATION' "
            "and run_id = any(%s) and asset_key = %s",
            (run_ids, dg.AssetKey("raw_dau").to_string()),
        )
        per_partition = {}
        for (event,) in cur.fetchall():
            materialization = dg.deserialize_value(event).dagster_event.event_specific_data.materialization
            per_partition[materialization.partition] = materialization.metadata
        # The data checks ran in the backfill's runs; the freshness checks, about yesterday, did not.
        cur.execute(
            "select event from event_logs where dagster_event_type = 'ASSET_CHECK_EVALUATION' "
            "and run_id = any(%s)",
            (run_ids,),
        )
        evaluated = {
            dg.deserialize_value(event).dagster_event.event_specific_data.check_name for (event,) in cur
        }
    assert evaluated and not {name for name in evaluated if "freshness" in name}, evaluated
    expected = {(key.to_string(), day.isoformat()) for key in asset_keys for day in days}
    assert expected <= materialized
    # Each partition's metadata is its own: the rows of its own landed file.
    store = RawStore(data_dir / "raw")
    assert {day: per_partition[day.isoformat()]["rows"].value for day in days} == {
        day: store.info(DAU, day).rows for day in days
    }

    deployed_requests = rate_limited_api.stats.total
    sandbox.stats.reset()
    (tmp_path / "plain").mkdir()
    # Without deriving (which a backfill from the UI does not do): the same requests, endpoint by endpoint.
    plain = run_cli(
        "backfill", "--start", START.isoformat(), "--end", END.isoformat(), "--no-derive",
        env=sandbox_env(sandbox, tmp_path / "plain"),
    )  # fmt: skip
    assert plain.exit_code == 0, plain.output
    assert warehouse_snapshot(data_dir) == warehouse_snapshot(tmp_path / "plain" / "data")
    assert deployed_requests == sandbox.stats.total
    print(
        f"deployed backfill: {len(run_ids)} runs, {deployed_requests} requests "
        f"(plain: {sandbox.stats.total}), {time.monotonic() - started:.1f}s in all"
    )
