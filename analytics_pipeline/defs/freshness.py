"""Freshness: a warning in Dagster when the nightly load of the previous UTC day has not happened.

Dagster 1.13 marks time-partition freshness checks as superseded by ``FreshnessPolicy``; we keep them
knowingly. A ``FreshnessPolicy`` judges an asset by its last materialization of *any* partition, so a
backfill of old days would hide a missed night; the partition check asks for yesterday's partition
itself, which is exactly "the nightly load is missing".

Dagster runs every check of the assets a run materializes, so an asset backfill launched from the UI
would also evaluate these: each of its runs would warn that yesterday is missing while it loads some
other day. The checks therefore judge only in a run of their own (the sensor's, or "Execute" on a
check) and step aside, evaluating nothing, in a run that materializes assets.

Only yesterday's partition is judged: the deployment's oldest partitions, which pass out of the API's
2-year lookback as the years go by, never make a freshness check warn. A day never loaded there is beyond
the API's reach, not late (``analysis_calendar``'s ``beyond_reach``; the data checks say the same).
"""

import warnings
from collections.abc import Iterator

import dagster as dg

FRESHNESS_DEADLINE_CRON = "0 4 * * *"
"""The previous day's partition is expected by 04:00 UTC: the schedule starts at 02:30, and a night's
load of a large organisation takes minutes at 10 requests a minute."""


def build_freshness_checks(assets: list[dg.AssetKey]) -> list[dg.AssetChecksDefinition]:
    """A check per asset that fails (WARN) once the deadline passes without yesterday's partition,
    evaluated only in a run that materializes no asset."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.SupersessionWarning)
        built = dg.build_time_partition_freshness_checks(
            assets=assets, deadline_cron=FRESHNESS_DEADLINE_CRON, timezone="UTC"
        )
    return [_only_in_runs_of_their_own(checks) for checks in built]


def _only_in_runs_of_their_own(built: dg.AssetChecksDefinition) -> dg.AssetChecksDefinition:
    """Dagster's checks again, under the same name and metadata (which the sensor reads), skipping
    runs that materialize assets. Dagster offers no switch to leave a check out of such runs; a
    ``can_subset`` check that yields nothing for a selected key is simply not evaluated."""
    evaluate = built.op.compute_fn.decorated_fn  # type: ignore[union-attr]
    specs = [
        dg.AssetCheckSpec(
            spec.name,
            asset=spec.asset_key,
            description=CHECK_DESCRIPTION,
            metadata=spec.metadata,
            blocking=spec.blocking,
        )
        for spec in built.check_specs
    ]

    @dg.multi_asset_check(specs=specs, can_subset=True, name=built.node_def.name)
    def freshness(context: dg.AssetCheckExecutionContext) -> Iterator[dg.AssetCheckResult]:
        if context.job_def.asset_layer.selected_asset_keys:
            context.log.info(
                "Freshness is not judged in a run that loads partitions; the nightly_freshness sensor "
                "evaluates it in runs of its own."
            )
            return
        yield from evaluate(context)

    return freshness


CHECK_DESCRIPTION = (
    "Warns once 04:00 UTC passes without yesterday's partition. Evaluated by the nightly_freshness "
    "sensor, not inside runs that load partitions."
)

SENSOR_DESCRIPTION = (
    "Every ten minutes while the Dagster daemon runs, evaluates the freshness checks: each fact table and "
    "dim_users warns once 04:00 UTC passes without yesterday's partition (the nightly schedule starts at "
    "02:30 UTC). A warning means the nightly load did not happen or failed: see its run. Older partitions "
    "never warn: a day older than the API's 2-year lookback and never loaded is beyond its reach, not late."
)


def build_freshness_sensor(checks: list[dg.AssetChecksDefinition]) -> dg.SensorDefinition:
    """Evaluates the freshness checks every ten minutes while the Dagster daemon runs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.SupersessionWarning)
        built = dg.build_sensor_for_freshness_checks(
            freshness_checks=checks,
            name="nightly_freshness",
            minimum_interval_seconds=600,
            default_status=dg.DefaultSensorStatus.RUNNING,
        )
    # The builder takes no description; the same sensor again, with one, evaluated by the built one.
    return dg.SensorDefinition(
        name=built.name,
        evaluation_fn=lambda context: built(context),
        minimum_interval_seconds=built.minimum_interval_seconds,
        description=SENSOR_DESCRIPTION,
        default_status=built.default_status,
        asset_selection=built.asset_selection,
    )
