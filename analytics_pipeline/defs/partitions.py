"""The daily UTC partitions every asset shares."""

from __future__ import annotations

import datetime as dt

import dagster as dg


def daily_partitions(start_date: dt.date) -> dg.DailyPartitionsDefinition:
    """One partition per UTC day from ``start_date``; the last is yesterday, the last complete day."""
    return dg.DailyPartitionsDefinition(start_date=start_date.isoformat(), timezone="UTC", end_offset=0)


REFETCH_TAG = "analytics_pipeline/refetch"
"""Run tag: "true" makes raw assets fetch their partitions again even when they are landed already.

Without it, every run resumes, wherever it was launched (a schedule, the UI, a backfill, the command
line): a partition landed whole is not fetched again (a damaged one is), and a calendar month is fetched
again only while it is not landed up to the API's latest day. The facts are loaded from what is landed
either way. Late and restated days are the nightly re-check's to fetch again, not a re-launch's."""


def skip_landed(context: dg.AssetExecutionContext) -> bool:
    """Whether the run's raw assets skip what is landed already (see :data:`REFETCH_TAG`)."""
    return context.run.tags.get(REFETCH_TAG) != "true"


def partition_days(context: dg.AssetExecutionContext) -> list[dt.date]:
    """The days a run covers: one partition, or a range when a backfill runs many in one go."""
    return [dt.date.fromisoformat(key) for key in context.partition_keys]
