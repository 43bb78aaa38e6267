"""``export --out`` and ``report --out`` never write over the data directory's own files."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

import pytest

from analytics_pipeline.config.outputs import check_output_path
from analytics_pipeline.config.settings import ConfigError
from analytics_pipeline.sandbox import SandboxServer
from analytics_pipeline_tests.conftest import assert_one_line_error, run_cli
from analytics_pipeline_tests.warehouse.test_analysis import END, load_window

MANAGED = (
    "warehouse.duckdb",
    "warehouse.duckdb.wal",
    "warehouse.duckdb.lock",
    ".emails",
    ".sandbox-data",
    "raw/dau_count/date=2026-01-01/part-0.parquet",
    "raw/new_endpoint/x.parquet",
    ".state/ratelimit.json",
    ".warehouse.duckdb.0123.tmp",
)


@pytest.fixture(scope="module")
def loaded(sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("outputs") / "data"
    load_window(sandbox, data_dir, END - dt.timedelta(days=1), END)
    return data_dir


def _digests(data_dir: Path) -> dict[str, str]:
    return {
        str(p.relative_to(data_dir)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(data_dir.rglob("*"))
        if p.is_file() and not p.name.endswith(".lock")
    }


@pytest.mark.parametrize("name", MANAGED)
def test_a_managed_file_is_refused(tmp_path: Path, name: str) -> None:
    data_dir = tmp_path / "data"
    (data_dir / "raw").mkdir(parents=True)
    target = data_dir / name
    target.parent.mkdir(parents=True, exist_ok=True)
    with pytest.raises(ConfigError, match="one of the pipeline's own files") as raised:
        check_output_path(target, data_dir)
    assert "\n" not in str(raised.value)


def test_a_symlink_or_a_relative_path_to_a_managed_file_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "warehouse.duckdb").write_bytes(b"the warehouse")
    link = tmp_path / "innocent.csv"
    link.symlink_to(data_dir / "warehouse.duckdb")
    with pytest.raises(ConfigError, match="one of the pipeline's own files"):
        check_output_path(link, data_dir)
    monkeypatch.chdir(data_dir / "..")
    with pytest.raises(ConfigError, match="one of the pipeline's own files"):
        check_output_path(Path("data/../data/./warehouse.duckdb"), Path("data"))


def test_only_new_or_regular_files_are_replaced(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="is not a regular file"):
        check_output_path(fifo, data_dir)
    with pytest.raises(ConfigError, match="is not a regular file"):
        check_output_path(Path("/dev/null"), data_dir)
    assert check_output_path(tmp_path / "new.csv", data_dir) == tmp_path / "new.csv"
    (tmp_path / "old.csv").write_text("old")
    assert check_output_path(tmp_path / "old.csv", data_dir) == tmp_path / "old.csv"
    reports = data_dir / "reports"
    reports.mkdir(parents=True)
    assert check_output_path(reports / "usage.html", data_dir) == reports / "usage.html"


@pytest.mark.parametrize(
    "args",
    [
        ("report", "--out", "{data}/warehouse.duckdb"),
        ("export", "--table", "fct_dau_count", "--format", "csv", "--out", "{data}/warehouse.duckdb"),
        ("export", "--table", "fct_dau_count", "--format", "csv", "--out", "{data}/.emails"),
        ("export", "--table", "fct_dau_count", "--format", "parquet", "--out", "{partition}"),
    ],
)
def test_the_commands_refuse_to_overwrite_landed_data(loaded: Path, args: tuple[str, ...]) -> None:
    partition = next(loaded.glob("raw/dau_count/date=*/part-0.parquet"))
    before = _digests(loaded)
    command = [a.format(data=loaded, partition=partition) for a in args]
    result = run_cli(*command, env={"ANALYTICS_DATA_DIR": str(loaded)})
    assert_one_line_error(result, "one of the pipeline's own files in the data directory")
    assert _digests(loaded) == before
