"""The freshness checks judge only in runs of their own: a run that loads partitions (an asset backfill
launched from the UI runs every check of its assets) evaluates none of them."""

import dagster as dg

from analytics_pipeline.defs.freshness import (
    CHECK_DESCRIPTION,
    build_freshness_checks,
    build_freshness_sensor,
)

PARTITIONS = dg.DailyPartitionsDefinition(start_date="2026-01-01", timezone="UTC")


@dg.asset(partitions_def=PARTITIONS)
def fct_loaded() -> None:
    """Stands for a fact table."""


CHECKS = build_freshness_checks([fct_loaded.key])
CHECK_KEYS = {key for checks in CHECKS for key in checks.check_keys}


def check_evaluations(instance: dg.DagsterInstance, run_id: str) -> list[dg.AssetCheckEvaluation]:
    """The freshness evaluations one run recorded."""
    entries = instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    return [entry.dagster_event.asset_check_evaluation_data for entry in entries if entry.dagster_event]


def test_a_run_that_loads_a_partition_plans_the_check_but_evaluates_nothing() -> None:
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize([fct_loaded, *CHECKS], partition_key="2026-01-02", instance=instance)
        assert result.success
        assert any(
            event.step_key and "freshness" in event.step_key for event in result.get_step_success_events()
        )
        assert check_evaluations(instance, result.run_id) == []


def test_a_run_of_the_checks_alone_warns_that_yesterday_is_missing() -> None:
    defs = dg.Definitions(assets=[fct_loaded], asset_checks=CHECKS)
    job = defs.resolve_implicit_global_asset_job_def()
    with dg.DagsterInstance.ephemeral() as instance:
        dg.materialize([fct_loaded], partition_key="2026-01-02", instance=instance)
        result = job.get_subset(asset_selection=set(), asset_check_selection=CHECK_KEYS).execute_in_process(
            instance=instance
        )
        assert result.success
        (evaluation,) = check_evaluations(instance, result.run_id)
        assert not evaluation.passed
        assert evaluation.severity == dg.AssetCheckSeverity.WARN
        assert "dagster/latest_cron_tick_timestamp" in evaluation.metadata


def test_the_checks_keep_the_metadata_their_sensor_schedules_by() -> None:
    (spec,) = (spec for checks in CHECKS for spec in checks.check_specs)
    assert spec.description == CHECK_DESCRIPTION
    assert spec.metadata["dagster/freshness_params"].data == {"timezone": "UTC", "deadline_cron": "0 4 * * *"}
    assert build_freshness_sensor(CHECKS).name == "nightly_freshness"
