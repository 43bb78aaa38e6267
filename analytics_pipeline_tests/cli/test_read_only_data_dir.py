"""A data directory nobody here can write to can still be read: the report, exports."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from analytics_pipeline.sandbox import SandboxServer
from analytics_pipeline_tests.read_only import run_with_read_only_dir
from analytics_pipeline_tests.warehouse.test_analysis import END, load_window


@pytest.fixture(scope="module")
def data_dir(sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("read-only") / "data"
    load_window(sandbox, data_dir, END - dt.timedelta(days=1), END)
    (data_dir / "warehouse.duckdb.lock").unlink(missing_ok=True)  # as a fresh copy of the data has none
    return data_dir


def _listing(data_dir: Path) -> list[str]:
    return sorted(str(p.relative_to(data_dir)) for p in data_dir.rglob("*"))


@pytest.mark.parametrize(
    "args",
    [
        ("report", "--out", "{out}/usage.html"),
        ("export", "--table", "fct_dau_count", "--format", "csv", "--out", "{out}/counts.csv"),
    ],
    ids=["report", "export"],
)
def test_reads_from_a_read_only_data_directory(data_dir: Path, tmp_path: Path, args: tuple[str, ...]) -> None:
    before = _listing(data_dir)
    argv = ["analytics_pipeline.cli", *(a.format(out=tmp_path) for a in args)]
    result = run_with_read_only_dir(data_dir, argv, env={"ANALYTICS_DATA_DIR": str(data_dir)}, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Wrote ")
    assert _listing(data_dir) == before
    assert (tmp_path / args[-1].rsplit("/", 1)[1]).stat().st_size > 0
