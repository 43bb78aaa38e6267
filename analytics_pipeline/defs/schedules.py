"""The nightly schedule: 02:30 UTC, after the API publishes the previous day (about 02:00 UTC)."""

from __future__ import annotations

import dagster as dg

from analytics_pipeline.defs.organization_names import OrgNames


def build_nightly_schedule(
    job: dg.UnresolvedAssetJobDefinition, names: OrgNames
) -> dg.ScheduleDefinition | dg.UnresolvedPartitionedAssetScheduleDefinition:
    """The organisation's job over its daily partitions: each night, the day before."""
    org = "" if names.is_default else f" of organization {names.organization!r}"
    return dg.build_schedule_from_partitioned_job(
        job,
        name=names.schedule,
        hour_of_day=2,
        minute_of_hour=30,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Every day at 02:30 UTC, load the previous UTC day{org}.",
    )
