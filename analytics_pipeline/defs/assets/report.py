"""The report asset: the usage dashboard written after every run that loads the warehouse.

It shares the daily partitions of every other asset only because a Dagster job cannot easily mix
partitioned and unpartitioned assets, and the nightly job runs them all. Its output is not one day's
data: every run rewrites ``<data_dir>/reports/usage.html`` (every organisation) for the default period
(the 28 days ending on the latest loaded day), whichever partitions the run covered, and, when the
deployment has several organisations, the organisation's own ``reports/<organization>/usage.html``.
"""

from __future__ import annotations

import time

import dagster as dg

from analytics_pipeline.api.endpoints import ASSET_ENDPOINTS
from analytics_pipeline.defs.organization_names import OrgNames
from analytics_pipeline.defs.resources import StorageResource

USAGE_REPORT_KEY = OrgNames().report
"""The default organisation's report asset (see :class:`OrgNames` for the others)."""


def build_report_asset(
    partitions_def: dg.PartitionsDefinition,
    backfill_policy: dg.BackfillPolicy,
    names: OrgNames,
    *,
    one_of_several: bool = False,
) -> dg.AssetsDefinition:
    """The report asset of an organisation; ``one_of_several`` when the deployment has others."""
    organization = names.organization

    @dg.asset(
        key=names.report,
        deps=[*(names.fact(e) for e in ASSET_ENDPOINTS), names.dim_users, names.rechecks],
        group_name=names.group("reports"),
        partitions_def=partitions_def,
        backfill_policy=backfill_policy,
        kinds={"html"},
        tags=names.tags,
        description="The usage dashboard (one offline HTML file): the latest 28 loaded days against the 28 "
        "before" + (f", of every organisation and of {organization!r} alone." if one_of_several else "."),
    )
    def usage_report(storage: StorageResource) -> dg.MaterializeResult:
        from analytics_pipeline.report import publish_report  # pandas and Jinja2: see report/__init__

        started = time.monotonic()
        warehouse = storage.warehouse()
        if one_of_several:
            own = storage.report_path(organization)
            own.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            publish_report(warehouse, own, organization=organization)
        path = storage.report_path()
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        report = publish_report(warehouse, path)
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
