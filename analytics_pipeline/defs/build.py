"""Build the Definitions from validated settings."""

from __future__ import annotations

import datetime as dt
import logging
import warnings
from dataclasses import dataclass
from typing import Any

import dagster as dg

from analytics_pipeline.api.endpoints import ASSET_ENDPOINTS
from analytics_pipeline.config.organizations import Organization
from analytics_pipeline.config.settings import Settings
from analytics_pipeline.defs.assets.raw import build_raw_assets
from analytics_pipeline.defs.assets.rechecks import build_recheck_asset
from analytics_pipeline.defs.assets.report import build_report_asset
from analytics_pipeline.defs.assets.warehouse import build_warehouse_assets
from analytics_pipeline.defs.checks import build_checks, build_checks_job
from analytics_pipeline.defs.first_partition import first_partitions
from analytics_pipeline.defs.freshness import build_freshness_checks, build_freshness_sensor
from analytics_pipeline.defs.jobs import build_analytics_job
from analytics_pipeline.defs.organization_names import OrgNames
from analytics_pipeline.defs.partitions import daily_partitions
from analytics_pipeline.defs.resources import AnalyticsApiResource, PrivacyResource, StorageResource
from analytics_pipeline.defs.resources.api import missing_token_in_dagster
from analytics_pipeline.defs.schedules import build_nightly_schedule

# BackfillPolicy is marked beta; we depend on it knowingly (tests pin its behaviour), so its warning
# would only be noise in every command's output.
warnings.filterwarnings("ignore", category=dg.BetaWarning)

MAX_PARTITIONS_PER_RUN = 90
"""A backfill run covers up to 90 days: one range request then serves the whole run."""


def api_resource(
    settings: Settings, organization: Organization | None = None, **options: Any
) -> AnalyticsApiResource:
    """The API resource of ``organization`` (the first of ``settings``' by default); ``options`` set its
    other fields (timeout, retries)."""
    org = organization or settings.organizations[0]
    return AnalyticsApiResource(
        organization=org.name,
        token_env=org.token_env,
        base_url=org.base_url,
        # The run configuration names the variable, never holds the token.
        token=dg.EnvVar(org.token_env) if org.token else None,
        requests_per_minute=org.requests_per_minute,
        burst=org.burst,
        data_dir=str(settings.data_dir),
        # Like the token: the URL holds a password, so the run configuration names the variable.
        state_url=dg.EnvVar("ANALYTICS_STATE_URL") if settings.state_url else None,
        **options,
    )


def storage_resource(settings: Settings) -> StorageResource:
    """The data directory's raw store and warehouse, as the assets and the backfill use them."""
    lake = settings.warehouse_url
    return StorageResource(
        data_dir=str(settings.data_dir),
        raw_url=settings.raw.url if settings.raw else "",
        recheck_days=settings.recheck_days,
        # Like the token: the run configuration names the variable, never holds the password.
        warehouse_url=dg.EnvVar("ANALYTICS_WAREHOUSE_URL") if lake else None,
        lake_data_path=lake.data_path if lake else None,
    )


@dataclass(frozen=True)
class OrganizationDefs:
    """One organisation's assets, checks, jobs and schedule (see :mod:`.organization_names`)."""

    assets: list[dg.AssetsDefinition]
    checks: list[dg.AssetChecksDefinition]
    freshness: list[dg.AssetChecksDefinition]
    jobs: list[dg.UnresolvedAssetJobDefinition]
    schedule: dg.ScheduleDefinition | dg.UnresolvedPartitionedAssetScheduleDefinition


def organization_defs(
    org: Organization, *, one_of_several: bool, first_day: dt.date | None = None
) -> OrganizationDefs:
    """Everything Dagster runs for ``org``, over its own daily partitions from ``first_day`` (default:
    ``org.start_date``; see :mod:`.first_partition`)."""
    first_day = first_day or org.start_date
    names = OrgNames(org.name)
    warning = missing_token_in_dagster(org.token_env) if org.token is None else ""
    if warning:  # said as the code location loads (its log), and on the API assets in the UI
        logging.getLogger("dagster").warning(warning)
    partitions_def = daily_partitions(first_day)
    backfill_policy = dg.BackfillPolicy.multi_run(max_partitions_per_run=MAX_PARTITIONS_PER_RUN)
    assets = [
        *build_raw_assets(partitions_def, backfill_policy, names, warning),
        *build_warehouse_assets(partitions_def, backfill_policy, names),
        build_recheck_asset(partitions_def, backfill_policy, first_day, names, warning),
        build_report_asset(partitions_def, backfill_policy, names, one_of_several=one_of_several),
    ]
    if org.owners:
        assets = [a.map_asset_specs(lambda spec: spec.replace_attributes(owners=org.owners)) for a in assets]
    checks = build_checks(partitions_def, names)
    freshness = build_freshness_checks([*(names.fact(e) for e in ASSET_ENDPOINTS), names.dim_users])
    job = build_analytics_job(assets, names, freshness)
    return OrganizationDefs(
        assets, checks, freshness, [job, build_checks_job(checks, names)], build_nightly_schedule(job, names)
    )


def build_definitions(settings: Settings, *, api: AnalyticsApiResource | None = None) -> dg.Definitions:
    """Every organisation's assets, checks, jobs and schedule; ``api`` replaces the first organisation's
    API resource built from ``settings``."""
    organizations = settings.organizations
    first_days = first_partitions(settings)
    built = [
        organization_defs(org, one_of_several=len(organizations) > 1, first_day=first_days[org.name])
        for org in organizations
    ]
    apis = {OrgNames(org.name).api_resource: api_resource(settings, org) for org in organizations}
    if api is not None:
        apis[OrgNames(organizations[0].name).api_resource] = api
    pseudonymize_key = dg.EnvVar("ANALYTICS_PSEUDONYMIZE_KEY") if settings.pseudonymize_key else None
    freshness = [check for org in built for check in org.freshness]
    return dg.Definitions(
        assets=[asset for org in built for asset in org.assets],
        asset_checks=[*(check for org in built for check in org.checks), *freshness],
        jobs=[job for org in built for job in org.jobs],
        schedules=[org.schedule for org in built],
        sensors=[build_freshness_sensor(freshness)],
        # For the runs Dagster builds itself (a backfill or a "Materialize" from the UI), as for our jobs:
        # steps one after another in the run's process. The default multiprocess executor would start a
        # process per step (seconds each), only for the steps to wait on the API pool and DuckDB's writer.
        executor=dg.in_process_executor,
        resources={
            **apis,
            "storage": storage_resource(settings),
            # Like the token: the run configuration names the variable, never holds the key.
            "privacy": PrivacyResource(pseudonymize_key=pseudonymize_key),
        },
    )
