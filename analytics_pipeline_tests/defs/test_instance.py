"""The shipped dagster.yaml: the API pool is serialised and crashed runs free their slots."""

from pathlib import Path

import dagster as dg
from dagster._core.instance.ref import InstanceRef

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_dagster_yaml_serialises_the_api_pool_and_frees_crashed_slots(tmp_path: Path) -> None:
    assert (PROJECT_ROOT / "dagster.yaml").is_file()
    # What `dagster dev` does with DAGSTER_HOME unset: storage in a temporary folder, settings from cwd.
    with dg.DagsterInstance.from_ref(
        InstanceRef.from_dir(str(tmp_path), config_dir=str(PROJECT_ROOT))
    ) as instance:
        config = instance.get_concurrency_config()
        assert config.pool_config.default_pool_limit == 1
        assert config.run_queue_config.max_concurrent_runs == 4
        assert instance.run_monitoring_enabled
        assert instance.run_monitoring_settings["free_slots_after_run_end_seconds"] == 120
