"""The only names this package takes from Dagster's private modules (``dagster._…``), and why.

Dagster 1.13 offers no public way to do either thing below. Private names can move or change in any
Dagster release, so they are imported here and nowhere else, and
``analytics_pipeline_tests/defs/test_dagster_private.py`` pins what we rely on: after a Dagster
upgrade, a failure there names what moved, instead of a run failing halfway through a backfill.

- :data:`ASSET_PARTITION_RANGE_START_TAG` and :data:`ASSET_PARTITION_RANGE_END_TAG`: the run tags that
  make one run cover a range of partitions (``execute_in_process`` takes a single ``partition_key``
  only). Dagster's own backfills tag their ranged runs with them, and assets then see the whole range in
  ``context.partition_keys``. ``backfill.runs`` runs up to 90 days in one run this way.
- :class:`AssetCheckEvaluationTargetMaterializationData`: the materialization an asset check
  evaluation is about. ``defs.checks`` yields one ``AssetCheckEvaluation`` per partition itself (an
  ``AssetCheckResult``, for which Dagster fills this in, cannot name a partition), so it names each
  partition's latest materialization with this.

- :class:`InstanceRef`, :class:`ConfigurableClassData` and :data:`NO_OP_COMPUTE_LOGS`: the
  command line's copy of the ``DAGSTER_HOME`` instance without stdout capture
  (``backfill.in_process.instance_for_cli``). Every in-process run redirects the whole process's
  stdout and stderr into its compute log while it runs; the command's concurrent runs (fetching and
  loading overlap, organisations run at once) restored each other's redirections, and the command's
  own output vanished into a run's log file. ``DagsterInstance`` takes its compute log manager only
  from its ``InstanceRef``.

One more private detail is used without an import: ``defs.freshness`` calls the function Dagster's
freshness checks are built from (``op.compute_fn.decorated_fn``) to wrap it;
``analytics_pipeline_tests/defs/test_freshness.py`` pins that it still evaluates.
"""

from dagster._core.definitions.asset_checks.asset_check_evaluation import (
    AssetCheckEvaluationTargetMaterializationData,
)
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from dagster._serdes import ConfigurableClassData

NO_OP_COMPUTE_LOGS = ConfigurableClassData(
    module_name="dagster._core.storage.noop_compute_log_manager",
    class_name="NoOpComputeLogManager",
    config_yaml="{}",
)
"""The compute log manager that captures nothing (Dagster's, public as a ``dagster.yaml`` setting)."""

__all__ = [
    "ASSET_PARTITION_RANGE_END_TAG",
    "ASSET_PARTITION_RANGE_START_TAG",
    "NO_OP_COMPUTE_LOGS",
    "AssetCheckEvaluationTargetMaterializationData",
    "ConfigurableClassData",
    "InstanceRef",
]
