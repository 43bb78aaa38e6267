"""The nightly schedule: 02:30 UTC, after the API publishes the previous day (about 02:00 UTC)."""

from __future__ import annotations

import dagster as dg


def build_nightly_schedule(
    job: dg.UnresolvedAssetJobDefinition,
) -> dg.ScheduleDefinition | dg.UnresolvedPartitionedAssetScheduleDefinition:
    """The job's schedule over its daily partitions: each night, the day before."""
    return dg.build_schedule_from_partitioned_job(
        job,
        name="nightly",
        hour_of_day=2,
        minute_of_hour=30,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Every day at 02:30 UTC, load the previous UTC day.",
    )
