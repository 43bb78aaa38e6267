"""The report asset: the usage dashboard written after every run that loads the warehouse.

It shares the daily partitions of every other asset only because a Dagster job cannot easily mix
partitioned and unpartitioned assets, and the nightly job runs them all. Its output is not one day's
data: every run rewrites the one file, ``<data_dir>/reports/usage.html``, for the default period (the
28 days ending on the latest loaded day), whichever partitions the run covered.
"""

from __future__ import annotations

import time

import dagster as dg

from analytics_pipeline.api.endpoints import ASSET_ENDPOINTS
from analytics_pipeline.defs.assets.rechecks import RECHECKS_KEY
from analytics_pipeline.defs.assets.warehouse import DIM_USERS_KEY, fact_asset_key
from analytics_pipeline.defs.resources import StorageResource

USAGE_REPORT_KEY = dg.AssetKey("usage_report")


def build_report_asset(
    partitions_def: dg.PartitionsDefinition, backfill_policy: dg.BackfillPolicy
) -> dg.AssetsDefinition:
    @dg.asset(
        key=USAGE_REPORT_KEY,
        deps=[*(fact_asset_key(e) for e in ASSET_ENDPOINTS), DIM_USERS_KEY, RECHECKS_KEY],
        group_name="reports",
        partitions_def=partitions_def,
        backfill_policy=backfill_policy,
        kinds={"html"},
    )
    def usage_report(storage: StorageResource) -> dg.MaterializeResult:
        """The usage dashboard (one offline HTML file): the latest 28 loaded days against the 28 before."""
        from analytics_pipeline.report import publish_report  # pandas and Jinja2: see report/__init__

        started = time.monotonic()
        path = storage.report_path()
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        report = publish_report(storage.warehouse(), path)
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(report.path)),
                "period_start": dg.MetadataValue.text(report.period.start.isoformat()),
                "period_end": dg.MetadataValue.text(report.period.end.isoformat()),
                "days_loaded": dg.MetadataValue.int(report.days_loaded),
                "bytes": dg.MetadataValue.int(report.bytes),
                "seconds": dg.MetadataValue.float(round(time.monotonic() - started, 3)),
            }
        )

    return usage_report
