"""The job that materializes every asset for a partition or a range of them, over the assets' partitions."""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

ANALYTICS_JOB = "analytics_job"


def build_analytics_job(
    freshness_checks: Sequence[dg.AssetChecksDefinition] = (),
) -> dg.UnresolvedAssetJobDefinition:
    """Every asset and data check, but the freshness checks: their sensor evaluates those (in a run of
    old partitions they would only warn that yesterday is missing)."""
    # In-process: steps run one after another in the run's process. The API allows 10 requests a
    # minute, so parallel steps would only queue on the rate limiter, and DuckDB takes one writer.
    return dg.define_asset_job(
        ANALYTICS_JOB,
        selection=dg.AssetSelection.all() - dg.AssetSelection.checks(*freshness_checks),
        executor_def=dg.in_process_executor,
        description="Land every endpoint for the partition(s) and load the warehouse.",
    )
