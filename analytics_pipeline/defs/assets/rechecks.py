"""The nightly re-check of provisional days, as the asset ``pipeline_rechecks``."""

import datetime as dt
import time

import dagster as dg

from analytics_pipeline.api.endpoints import ASSET_ENDPOINTS, USER_ACTIVITY_MONTHLY, Endpoint
from analytics_pipeline.dates import month_start, utc_today
from analytics_pipeline.defs.assets.raw import api_steps_resources, lander
from analytics_pipeline.defs.checks import evaluations
from analytics_pipeline.defs.organization_names import OrgNames
from analytics_pipeline.defs.partitions import partition_days
from analytics_pipeline.defs.resources import StorageResource
from analytics_pipeline.landing import RawStore
from analytics_pipeline.late_data.recheck import (
    CHANGED,
    MISSING,
    RANGE_ENDPOINTS,
    UNCHANGED,
    Rechecker,
    RecheckOutcome,
)
from analytics_pipeline.provisional import recheck_window

RECHECKS_KEY = OrgNames().rechecks
"""The default organisation's re-check asset (see :class:`OrgNames` for the others)."""


def _months_refreshed_by_run(
    context: dg.AssetExecutionContext, days: list[dt.date], names: OrgNames
) -> list[dt.date]:
    """The months this run lands itself (its raw monthly asset runs first: it is upstream)."""
    selection = context.run.asset_selection
    if selection is not None and names.raw(USER_ACTIVITY_MONTHLY) not in selection:
        return []
    return sorted({month_start(d) for d in days})


def _reloaded(outcome: RecheckOutcome) -> list[tuple[Endpoint, dt.date, str]]:
    """The partitions whose data the re-check changed in the warehouse, with why. A range endpoint is
    re-loaded on every day it re-checks, but on an unchanged day with the same records: not a change."""
    why = {d.day: d.outcome for d in outcome.days}
    reloaded = []
    for endpoint, day in outcome.loaded:
        reason = why.get(day, CHANGED)  # a month re-loaded because a day of it changed
        if endpoint in RANGE_ENDPOINTS and reason == UNCHANGED:
            continue
        reloaded.append((endpoint, day, "not loaded before" if reason == MISSING else "its numbers changed"))
    return reloaded


def _materializations(
    reloaded: list[tuple[Endpoint, dt.date, str]], names: OrgNames, store: RawStore
) -> list[dg.AssetMaterialization]:
    """One event per partition the re-check changed, raw and fact, with the landed partition's numbers,
    so the UI shows each refreshed with what it now holds."""
    events = []
    for endpoint, day, reason in reloaded:
        info = store.landed_info(endpoint, day)
        metadata: dict[str, dg.MetadataValue] = {}
        if info is not None:
            metadata = {
                "rows": dg.MetadataValue.int(info.rows),
                "requests": dg.MetadataValue.int(info.requests),
                "pages": dg.MetadataValue.int(info.pages),
                "fetched_at": dg.MetadataValue.text(info.fetched_at),
            }
        for key in (names.raw(endpoint), names.fact(endpoint)):
            events.append(
                dg.AssetMaterialization(
                    asset_key=key,
                    partition=day.isoformat(),
                    description=f"Re-loaded by the nightly re-check (pipeline_rechecks): {reason}.",
                    metadata=metadata,
                )
            )
    return events


def _check_evaluations(
    context: dg.AssetExecutionContext,
    storage: StorageResource,
    reloaded: list[tuple[Endpoint, dt.date, str]],
    names: OrgNames,
) -> list[dg.AssetCheckEvaluation]:
    """The re-loaded days' data checks run again, so that their results describe the data now loaded."""
    days_of: dict[str, set[dt.date]] = {}
    for endpoint, day, _ in reloaded:
        if endpoint.fact_table is not None:
            days_of.setdefault(endpoint.fact_table, set()).add(day)
    return [
        evaluation
        for table, days in sorted(days_of.items())
        for evaluation in evaluations(context.instance, storage, table, names, sorted(days))
    ]


def build_recheck_asset(
    partitions_def: dg.PartitionsDefinition,
    backfill_policy: dg.BackfillPolicy,
    first_day: dt.date,
    names: OrgNames,
    warning: str = "",
) -> dg.AssetsDefinition:
    organization = names.organization

    @dg.asset(
        key=names.rechecks,
        deps=[*(names.raw(e) for e in ASSET_ENDPOINTS), *(names.fact(e) for e in ASSET_ENDPOINTS)],
        group_name=names.group("warehouse"),
        partitions_def=partitions_def,
        backfill_policy=backfill_policy,
        # The resources by key, not as typed arguments: the API's key is the organisation's.
        required_resource_keys={names.api_resource, "storage", "privacy"},
        pool=names.pool,
        kinds={"duckdb"},
        tags=names.tags,
        description="Re-checks the provisional days before the partition for late or restated data; "
        "reloads changes." + (f"\n\nWarning: {warning}." if warning else ""),
    )
    def pipeline_rechecks(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        started = time.monotonic()
        api, storage, privacy = api_steps_resources(context, names)
        run_days = partition_days(context)
        days = recheck_window(run_days, utc_today(), storage.recheck_days, first_day)
        outcome = RecheckOutcome()
        if days:
            with api.client() as client:
                landing = lander(client, storage, privacy, organization)
                rechecker = Rechecker(
                    landing, storage.warehouse(), storage.recheck_days, organization=organization
                )
                months = _months_refreshed_by_run(context, run_days, names)
                outcome = rechecker.run(days, months_refreshed=months)
            reloaded = _reloaded(outcome)
            for event in _materializations(reloaded, names, storage.raw_store(organization)):
                context.log_event(event)
            for evaluation in _check_evaluations(context, storage, reloaded, names):
                context.log_event(evaluation)
        changed = outcome.days_with(CHANGED)
        if changed:
            context.log.info("re-loaded days whose numbers changed: " + ", ".join(map(str, changed)))
        return dg.MaterializeResult(
            metadata={
                "days_checked": dg.MetadataValue.int(len(days)),
                "first_day": dg.MetadataValue.text(days[0].isoformat() if days else ""),
                "last_day": dg.MetadataValue.text(days[-1].isoformat() if days else ""),
                "unchanged_days": dg.MetadataValue.int(len(outcome.days_with(UNCHANGED))),
                "changed_days": dg.MetadataValue.json([d.isoformat() for d in changed]),
                "missing_days": dg.MetadataValue.json([d.isoformat() for d in outcome.days_with(MISSING)]),
                "run_requests": dg.MetadataValue.int(outcome.requests),
                "seconds": dg.MetadataValue.float(round(time.monotonic() - started, 3)),
                "table": dg.MetadataValue.text("main.pipeline_rechecks"),
            }
        )

    return pipeline_rechecks
