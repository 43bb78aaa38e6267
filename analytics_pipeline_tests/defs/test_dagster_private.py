"""What we rely on in Dagster's private API (``defs.dagster_private``), pinned: after a Dagster upgrade,
a failure here names what moved."""

import datetime as dt
import re
from pathlib import Path

import dagster as dg
from dagster._core.execution import asset_backfill, job_backfill

import analytics_pipeline
from analytics_pipeline.defs.dagster_private import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    AssetCheckEvaluationTargetMaterializationData,
)

PARTITIONS = dg.DailyPartitionsDefinition(start_date="2026-01-01", timezone="UTC", end_offset=0)
START, END = dt.date(2026, 1, 2), dt.date(2026, 1, 4)
SEEN: list[list[str]] = []


@dg.asset(partitions_def=PARTITIONS)
def ranged(context: dg.AssetExecutionContext) -> None:
    """Records the partitions its run covers."""
    SEEN.append(list(context.partition_keys))


def _run_over_range(instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    """One run over START..END, tagged the way ``backfill.runs.execute_range`` tags it."""
    job = dg.Definitions(assets=[ranged]).resolve_implicit_global_asset_job_def()
    tags = {
        ASSET_PARTITION_RANGE_START_TAG: START.isoformat(),
        ASSET_PARTITION_RANGE_END_TAG: END.isoformat(),
    }
    return job.execute_in_process(instance=instance, tags=tags)


def test_the_range_tags_are_the_ones_dagster_backfills_use() -> None:
    assert ASSET_PARTITION_RANGE_START_TAG == "dagster/asset_partition_range_start"
    assert ASSET_PARTITION_RANGE_END_TAG == "dagster/asset_partition_range_end"
    for backfills in (asset_backfill, job_backfill):
        assert backfills.ASSET_PARTITION_RANGE_START_TAG == ASSET_PARTITION_RANGE_START_TAG
        assert backfills.ASSET_PARTITION_RANGE_END_TAG == ASSET_PARTITION_RANGE_END_TAG


def test_the_range_tags_make_one_run_cover_every_partition_of_the_range() -> None:
    SEEN.clear()
    with dg.DagsterInstance.ephemeral() as instance:
        assert _run_over_range(instance).success
    assert SEEN == [["2026-01-02", "2026-01-03", "2026-01-04"]]


def test_a_check_evaluation_names_a_partitions_materialization_as_the_checks_do() -> None:
    with dg.DagsterInstance.ephemeral() as instance:
        _run_over_range(instance)
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=ranged.key, asset_partitions=["2026-01-03"]), limit=1
        ).records
        record = records[0]
        # The arguments defs.checks._targets passes, from the record fields it reads.
        target = AssetCheckEvaluationTargetMaterializationData(
            storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp
        )
    evaluation = dg.AssetCheckEvaluation(
        asset_key=ranged.key,
        check_name="unique_keys",
        passed=True,
        target_materialization_data=target,
        partition=record.partition_key,
    )
    assert evaluation.target_materialization_data == target
    assert (target.storage_id, target.run_id, target.timestamp) == (
        record.storage_id,
        record.run_id,
        record.timestamp,
    )
    assert evaluation.partition == "2026-01-03"


def test_nothing_else_in_the_package_imports_dagster_private_modules() -> None:
    package = Path(analytics_pipeline.__file__).parent
    importing = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if re.search(r"^\s*(from|import) dagster\._", path.read_text(), re.MULTILINE)
    ]
    assert importing == ["defs/dagster_private.py"]


def test_an_instance_ref_with_no_op_compute_logs_captures_nothing(tmp_path: Path) -> None:
    from dagster._core.storage.noop_compute_log_manager import NoOpComputeLogManager

    from analytics_pipeline.defs.dagster_private import NO_OP_COMPUTE_LOGS, InstanceRef

    ref = InstanceRef.from_dir(str(tmp_path))._replace(compute_logs_data=NO_OP_COMPUTE_LOGS)
    with dg.DagsterInstance.from_ref(ref) as instance:
        assert isinstance(instance.compute_log_manager, NoOpComputeLogManager)
        assert instance.get_ref().local_artifact_storage_data.config_dict["base_dir"] == str(tmp_path)
