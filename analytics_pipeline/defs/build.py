"""Build the Definitions from validated settings."""

from __future__ import annotations

import warnings
from typing import Any

import dagster as dg

from analytics_pipeline.api.endpoints import ASSET_ENDPOINTS
from analytics_pipeline.config.settings import Settings
from analytics_pipeline.defs.assets.raw import build_raw_assets
from analytics_pipeline.defs.assets.rechecks import build_recheck_asset
from analytics_pipeline.defs.assets.report import build_report_asset
from analytics_pipeline.defs.assets.warehouse import DIM_USERS_KEY, build_warehouse_assets, fact_asset_key
from analytics_pipeline.defs.checks import build_checks, build_checks_job
from analytics_pipeline.defs.freshness import build_freshness_checks, build_freshness_sensor
from analytics_pipeline.defs.jobs import build_analytics_job
from analytics_pipeline.defs.partitions import daily_partitions
from analytics_pipeline.defs.resources import AnalyticsApiResource, PrivacyResource, StorageResource
from analytics_pipeline.defs.schedules import build_nightly_schedule

# BackfillPolicy is marked beta; we depend on it knowingly (tests pin its behaviour), so its warning
# would only be noise in every command's output.
warnings.filterwarnings("ignore", category=dg.BetaWarning)

MAX_PARTITIONS_PER_RUN = 90
"""A backfill run covers up to 90 days: one range request then serves the whole run."""


def api_resource(settings: Settings, **options: Any) -> AnalyticsApiResource:
    """The API resource for ``settings``; ``options`` set its other fields (timeout, retries)."""
    return AnalyticsApiResource(
        base_url=settings.api_base_url,
        token=dg.EnvVar("AUGMENT_API_TOKEN") if settings.api_token else None,
        requests_per_minute=settings.requests_per_minute,
        burst=settings.burst,
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


def build_definitions(settings: Settings, *, api: AnalyticsApiResource | None = None) -> dg.Definitions:
    """Every asset, check, job and schedule; ``api`` replaces the API resource built from ``settings``."""
    partitions_def = daily_partitions(settings.start_date)
    backfill_policy = dg.BackfillPolicy.multi_run(max_partitions_per_run=MAX_PARTITIONS_PER_RUN)
    freshness = build_freshness_checks([*(fact_asset_key(e) for e in ASSET_ENDPOINTS), DIM_USERS_KEY])
    job = build_analytics_job(freshness)
    pseudonymize_key = dg.EnvVar("ANALYTICS_PSEUDONYMIZE_KEY") if settings.pseudonymize_key else None
    return dg.Definitions(
        assets=[
            *build_raw_assets(partitions_def, backfill_policy),
            *build_warehouse_assets(partitions_def, backfill_policy),
            build_recheck_asset(partitions_def, backfill_policy, settings.start_date),
            build_report_asset(partitions_def, backfill_policy),
        ],
        asset_checks=[*build_checks(partitions_def), *freshness],
        jobs=[job, build_checks_job(freshness)],
        schedules=[build_nightly_schedule(job)],
        sensors=[build_freshness_sensor(freshness)],
        # For the runs Dagster builds itself (a backfill or a "Materialize" from the UI), as for our jobs:
        # steps one after another in the run's process. The default multiprocess executor would start a
        # process per step (seconds each), only for the steps to wait on the API pool and DuckDB's writer.
        executor=dg.in_process_executor,
        resources={
            "api": api if api is not None else api_resource(settings),
            "storage": storage_resource(settings),
            # Like the token: the run configuration names the variable, never holds the key.
            "privacy": PrivacyResource(pseudonymize_key=pseudonymize_key),
        },
    )
