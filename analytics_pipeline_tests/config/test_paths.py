"""The data directory's layout, named once: the names users and their scripts rely on stay as they are."""

from pathlib import Path

from analytics_pipeline.config.paths import DataPaths
from analytics_pipeline.config.settings import Settings
from analytics_pipeline.defs.resources import StorageResource


def test_the_layout_of_the_data_directory() -> None:
    paths = DataPaths(Path("data"))
    assert {
        "raw": paths.raw,
        "warehouse": paths.warehouse,
        "reports": paths.reports,
        "report": paths.report,
        "state": paths.state,
        "emails": paths.emails_marker,
        "source": paths.source_marker(),
        "sandbox": paths.sandbox_marker,
    } == {
        "raw": Path("data/raw"),
        "warehouse": Path("data/warehouse.duckdb"),
        "reports": Path("data/reports"),
        "report": Path("data/reports/usage.html"),
        "state": Path("data/.state"),
        "emails": Path("data/.emails"),
        "source": Path("data/.source"),
        "sandbox": Path("data/.sandbox-data"),
    }


def test_settings_and_the_storage_resource_name_the_same_paths() -> None:
    settings = Settings.from_env({"ANALYTICS_DATA_DIR": "/srv/analytics"}, env_file=Path("/nonexistent"))
    storage = StorageResource(data_dir="/srv/analytics")
    assert settings.paths == storage.paths == DataPaths(Path("/srv/analytics"))
    assert storage.warehouse().path == settings.paths.warehouse
    assert storage.raw_store().root == settings.paths.raw
    assert storage.report_path() == settings.paths.report
