"""The job that materializes an organisation's assets for a partition or a range of them."""

from __future__ import annotations

from collections.abc import Sequence

import dagster as dg

from analytics_pipeline.defs.organization_names import OrgNames

ANALYTICS_JOB = OrgNames().job
"""The default organisation's job (see :class:`OrgNames` for the others)."""


def build_analytics_job(
    assets: Sequence[dg.AssetsDefinition],
    names: OrgNames,
    freshness_checks: Sequence[dg.AssetChecksDefinition] = (),
) -> dg.UnresolvedAssetJobDefinition:
    """The organisation's assets and their data checks, but the freshness checks: their sensor evaluates
    those (in a run of old partitions they would only warn that yesterday is missing)."""
    # In-process: steps run one after another in the run's process. The API allows 10 requests a
    # minute, so parallel steps would only queue on the rate limiter, and DuckDB takes one writer.
    org = "" if names.is_default else f" of organization {names.organization!r}"
    return dg.define_asset_job(
        names.job,
        selection=dg.AssetSelection.assets(*assets) - dg.AssetSelection.checks(*freshness_checks),
        executor_def=dg.in_process_executor,
        tags=names.tags,
        description=f"Land every endpoint{org} for the partition(s) and load the warehouse.",
    )
