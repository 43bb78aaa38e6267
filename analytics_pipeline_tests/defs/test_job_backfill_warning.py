"""A run of a job backfill (``dagster job backfill``: one run a day) says, once, what it costs and what to
launch instead; a run of an asset backfill (up to 90 days a run) or of no backfill says nothing."""

import time

import dagster as dg
import pytest
from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill

from analytics_pipeline.defs.resources.api import BACKFILL_TAG, JOB_BACKFILL_WARNING, AnalyticsApiResource


@dg.asset(required_resource_keys={"api"})
def calls_the_api() -> None:
    """Stands for a raw asset."""


def warnings_of(instance: dg.DagsterInstance, tags: dict[str, str]) -> list[str]:
    defs = dg.Definitions(assets=[calls_the_api], resources={"api": AnalyticsApiResource()})
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(instance=instance, tags=tags)
    return [e.user_message for e in instance.all_logs(result.run_id) if "job backfill" in e.user_message]


def add_backfill(instance: dg.DagsterInstance, backfill_id: str, *, asset_backfill: bool) -> None:
    instance.add_backfill(
        PartitionBackfill(
            backfill_id,
            status=BulkActionStatus.REQUESTED,
            from_failure=False,
            tags={},
            backfill_timestamp=time.time(),
            partition_names=None if asset_backfill else ["2026-01-01"],
            serialized_asset_backfill_data="{}" if asset_backfill else None,
        )
    )


@pytest.mark.parametrize(("asset_backfill", "warned"), [(False, True), (True, False)])
def test_a_job_backfills_run_warns_once(asset_backfill: bool, warned: bool) -> None:
    with dg.DagsterInstance.ephemeral() as instance:
        add_backfill(instance, "b1", asset_backfill=asset_backfill)
        assert warnings_of(instance, {BACKFILL_TAG: "b1"}) == ([JOB_BACKFILL_WARNING] if warned else [])


def test_a_run_of_no_backfill_says_nothing() -> None:
    with dg.DagsterInstance.ephemeral() as instance:
        assert warnings_of(instance, {}) == []
