"""deploy/dagster.yaml keeps the single-machine dagster.yaml's pool and limits, and its secrets out of the
file."""

from pathlib import Path

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def test_the_deployment_limits_the_api_pool_and_runs_as_the_single_machine_default_does() -> None:
    deployed, local = _load(PROJECT_ROOT / "deploy" / "dagster.yaml"), _load(PROJECT_ROOT / "dagster.yaml")
    assert deployed["concurrency"] == local["concurrency"]
    assert deployed["run_monitoring"] == local["run_monitoring"]
    assert deployed["run_coordinator"]["class"] == "QueuedRunCoordinator"


def test_the_deployment_reads_every_connection_setting_from_the_environment() -> None:
    settings = _load(PROJECT_ROOT / "deploy" / "dagster.yaml")["storage"]["postgres"]["postgres_db"]
    assert {name: value for name, value in settings.items() if name != "scheme"} == {
        "username": {"env": "DAGSTER_PG_USERNAME"},
        "password": {"env": "DAGSTER_PG_PASSWORD"},
        "hostname": {"env": "DAGSTER_PG_HOST"},
        "db_name": {"env": "DAGSTER_PG_DB"},
        "port": {"env": "DAGSTER_PG_PORT"},
    }
