"""Freshness: a warning in Dagster when the nightly load of the previous UTC day has not happened.

Dagster 1.13 marks time-partition freshness checks as superseded by ``FreshnessPolicy``; we keep them
knowingly. A ``FreshnessPolicy`` judges an asset by its last materialization of *any* partition, so a
backfill of old days would hide a missed night; the partition check asks for yesterday's partition
itself, which is exactly "the nightly load is missing".

Only yesterday's partition is judged: the deployment's oldest partitions, which pass out of the API's
2-year lookback as the years go by, never make a freshness check warn. A day never loaded there is beyond
the API's reach, not late (``analysis_calendar``'s ``beyond_reach``; the data checks say the same).
"""

from __future__ import annotations

import warnings

import dagster as dg

FRESHNESS_DEADLINE_CRON = "0 4 * * *"
"""The previous day's partition is expected by 04:00 UTC: the schedule starts at 02:30, and a night's
load of a large organisation takes minutes at 10 requests a minute."""


def build_freshness_checks(assets: list[dg.AssetKey]) -> list[dg.AssetChecksDefinition]:
    """A check per asset that fails (WARN) once the deadline passes without yesterday's partition."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.SupersessionWarning)
        return list(
            dg.build_time_partition_freshness_checks(
                assets=assets, deadline_cron=FRESHNESS_DEADLINE_CRON, timezone="UTC"
            )
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
