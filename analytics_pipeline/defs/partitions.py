"""The daily UTC partitions every asset shares."""

from __future__ import annotations

import datetime as dt

import dagster as dg


def daily_partitions(start_date: dt.date) -> dg.DailyPartitionsDefinition:
    """One partition per UTC day from ``start_date``; the last is yesterday, the last complete day."""
    return dg.DailyPartitionsDefinition(start_date=start_date.isoformat(), timezone="UTC", end_offset=0)


SKIP_LANDED_TAG = "analytics_pipeline/skip_landed"
"""Run tag: "true" makes raw assets skip partitions already on disk (how a backfill resumes)."""


def skip_landed(context: dg.AssetExecutionContext) -> bool:
    return context.run.tags.get(SKIP_LANDED_TAG) == "true"


def partition_days(context: dg.AssetExecutionContext) -> list[dt.date]:
    """The days a run covers: one partition, or a range when a backfill runs many in one go."""
    return [dt.date.fromisoformat(key) for key in context.partition_keys]
