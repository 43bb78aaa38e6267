"""Raw landing assets: one per endpoint, each writing ``raw/<endpoint>/date=YYYY-MM-DD/``."""

import datetime as dt
import time
from typing import cast

import dagster as dg

from analytics_pipeline.api import AnalyticsClient
from analytics_pipeline.api.endpoints import ASSET_ENDPOINTS, Endpoint
from analytics_pipeline.api.errors import ApiError
from analytics_pipeline.dates import month_start
from analytics_pipeline.defs.organization_names import OrgNames
from analytics_pipeline.defs.partitions import partition_days, skip_landed
from analytics_pipeline.defs.reach import refuse_beyond_reach
from analytics_pipeline.defs.resources import AnalyticsApiResource, PrivacyResource, StorageResource
from analytics_pipeline.landing import Lander, LandingResult, RawStore
from analytics_pipeline.landing.drift import warn_unknown_fields
from analytics_pipeline.landing.store import QUARANTINE


def raw_asset_key(endpoint: Endpoint) -> dg.AssetKey:
    """The default organisation's raw asset of ``endpoint`` (see :class:`OrgNames` for the others)."""
    return OrgNames().raw(endpoint)


def lander(
    client: AnalyticsClient, storage: StorageResource, privacy: PrivacyResource, organization: str
) -> Lander:
    """The one way assets land records: into the organisation's raw store, pseudonymised when configured."""
    return Lander(client, storage.raw_store(organization), pseudonymizer=privacy.pseudonymizer(storage.root))


def api_steps_resources(
    context: dg.AssetExecutionContext, names: OrgNames
) -> tuple[AnalyticsApiResource, StorageResource, PrivacyResource]:
    """The resources of a step that calls the API: the organisation's API, the storage and the privacy."""
    resources = context.resources
    return (
        cast(AnalyticsApiResource, getattr(resources, names.api_resource)),
        cast(StorageResource, resources.storage),
        cast(PrivacyResource, resources.privacy),
    )


def landing_metadata(result: LandingResult, seconds: float, store_root: str) -> dict[str, dg.MetadataValue]:
    """What the whole run did, on each of its partitions: named ``run_*`` where a partition has its own
    (see :func:`partition_metadata`)."""
    return {
        "run_rows": dg.MetadataValue.int(result.rows),
        "run_requests": dg.MetadataValue.int(result.requests),
        "run_pages": dg.MetadataValue.int(result.pages),
        "run_partitions": dg.MetadataValue.int(len(result.partitions)),
        "unknown_fields": dg.MetadataValue.json(result.unknown_fields),
        "duplicates_collapsed": dg.MetadataValue.int(result.duplicates_collapsed),
        "quarantined": dg.MetadataValue.json(result.quarantined),
        "seconds": dg.MetadataValue.float(round(seconds, 3)),
        "path": dg.MetadataValue.path(f"{store_root}/{result.endpoint}"),
    }


def partition_metadata(
    endpoint: Endpoint, days: list[dt.date], result: LandingResult, store: RawStore
) -> dict[dt.date, dict[str, dg.MetadataValue]]:
    """Each Dagster partition's own numbers: its file's rows, and the requests and pages that fetched it
    in this run (a window's on its newest day, as ``pipeline_partitions`` counts them, so they add up to
    the run's). A partition landed before and skipped says so, with its file's rows. A monthly endpoint's
    day gives its month's file: its rows as ``month_rows``, its requests on the run's newest day of it."""
    landed = {p.date: p for p in result.partitions}
    newest_of_month = {month_start(d): d for d in sorted(days)}
    metadata: dict[dt.date, dict[str, dg.MetadataValue]] = {}
    for day in days:
        key = month_start(day) if endpoint.monthly else day
        info = landed.get(key.isoformat())
        fetched = info is not None
        if info is None:
            info = store.landed_info(endpoint, key)
        counts = fetched and (not endpoint.monthly or newest_of_month[key] == day)
        rows = info.rows if info is not None else 0
        entry: dict[str, dg.MetadataValue] = {
            "fetched": dg.MetadataValue.bool(fetched),
            "requests": dg.MetadataValue.int(info.requests if counts and info else 0),
            "pages": dg.MetadataValue.int(info.pages if counts and info else 0),
        }
        if endpoint.monthly:
            entry["month"] = dg.MetadataValue.text(key.isoformat())
            entry["month_rows"] = dg.MetadataValue.int(rows)
        else:
            entry["rows"] = dg.MetadataValue.int(rows)
        if info is not None:
            entry["fetched_at"] = dg.MetadataValue.text(info.fetched_at)
        metadata[day] = entry
    return metadata


def build_raw_asset(
    endpoint: Endpoint,
    partitions_def: dg.PartitionsDefinition,
    backfill_policy: dg.BackfillPolicy,
    names: OrgNames,
    warning: str = "",
) -> dg.AssetsDefinition:
    """The landing asset of one endpoint for one organisation; ``warning`` ends its description (what
    stops it running, found as the code location loaded)."""

    @dg.asset(
        key=names.raw(endpoint),
        group_name=names.group("raw"),
        partitions_def=partitions_def,
        backfill_policy=backfill_policy,
        # The resources by key, not as typed arguments: the API's key is the organisation's.
        required_resource_keys={names.api_resource, "storage", "privacy"},
        pool=names.pool,
        kinds={"parquet"},
        tags=names.tags,
        description=f"Raw {endpoint.path} records as Parquet, {_landed_per(endpoint)}. "
        f"{endpoint.description}" + (f"\n\nWarning: {warning}." if warning else ""),
    )
    def _raw(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        started = time.monotonic()
        api, storage, privacy = api_steps_resources(context, names)
        store = storage.raw_store(names.organization)
        days = partition_days(context)
        refuse_beyond_reach(endpoint, days, store, skip_landed=skip_landed(context))
        with api.client() as client:
            try:
                result = lander(client, storage, privacy, names.organization).land(
                    endpoint, days, skip_landed=skip_landed(context)
                )
            except ApiError as exc:
                context.log.error(
                    f"{exc}. Nothing of the partition being fetched was written (partitions landed "
                    "before it are kept): run again to resume."
                )
                raise
        warn_unknown_fields(endpoint.name, result.unknown_fields)  # the command line's, once
        if result.unknown_fields:
            context.log.warning(
                f"{endpoint.name}: fields the pipeline does not know yet (kept in raw_json): "
                + ", ".join(result.unknown_fields)
            )
        for path in result.quarantined:
            context.log.warning(
                f"{endpoint.name}: the landed partition {path} was damaged; moved it to "
                f"{store.url_of(store.root / QUARANTINE)} and fetched it anew"
            )
        if result.duplicates_collapsed:
            repeated = [p.date for p in result.partitions if p.duplicates_collapsed]
            context.log.warning(
                f"{endpoint.name}: {result.duplicates_collapsed} records the API sent twice were landed once "
                f"({', '.join(sorted(repeated))})"
            )
        for day, own in partition_metadata(endpoint, days, result, store).items():
            context.add_asset_metadata(own, partition_key=day.isoformat())
        return dg.MaterializeResult(metadata=landing_metadata(result, time.monotonic() - started, store.url))

    return _raw


def build_raw_assets(
    partitions_def: dg.PartitionsDefinition,
    backfill_policy: dg.BackfillPolicy,
    names: OrgNames,
    warning: str = "",
) -> list[dg.AssetsDefinition]:
    return [build_raw_asset(e, partitions_def, backfill_policy, names, warning) for e in ASSET_ENDPOINTS]


def _landed_per(endpoint: Endpoint) -> str:
    """How an endpoint's Dagster partitions (always UTC days) map to the files it lands, for the UI."""
    if endpoint.monthly:
        return (
            "landed per calendar month (month=YYYY-MM-01): a day's partition lands the whole month that "
            "holds it, once"
        )
    return "landed per UTC day (date=YYYY-MM-DD), one file per day's partition"
