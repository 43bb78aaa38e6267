"""Exporting a table, view or query to CSV or Parquet, read-only and atomically."""

import datetime as dt
import gzip
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from analytics_pipeline.sandbox import SandboxServer
from analytics_pipeline.warehouse import Warehouse
from analytics_pipeline.warehouse.analysis import install_analysis
from analytics_pipeline.warehouse.export import export, quote_identifier
from analytics_pipeline_tests.warehouse.test_analysis import END, load_window

START = END - dt.timedelta(days=1)
ODD_NAME = 'odd "name"; drop table fct_dau_count'


@pytest.fixture(scope="module")
def warehouse(sandbox: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("export") / "data"
    load_window(sandbox, data_dir, START, END)
    path = data_dir / "warehouse.duckdb"
    with Warehouse(path).writer() as con:
        install_analysis(con)
        con.execute(f"create table {quote_identifier(ODD_NAME)} as select 1 as one")
    return path


def _query(warehouse: Path, sql: str) -> list[tuple]:
    with Warehouse(warehouse).reader() as con:
        return con.execute(sql).fetchall()


def test_table_to_csv(warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "dau.csv"
    rows = export(Warehouse(warehouse), warehouse.parent, table="fct_dau_users", fmt="csv", out=out)
    expected = _query(warehouse, "select * from fct_dau_users order by all")
    assert rows == len(expected) > 0
    assert out.read_text().splitlines()[0] == "date,user_key,user_email,service_account_name,organization"
    exported = duckdb.sql(f"select * from read_csv('{out}', header = true) order by all").fetchall()
    assert exported == expected


def test_table_and_view_to_parquet(warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "usage.parquet"
    assert export(
        Warehouse(warehouse), warehouse.parent, table="main.fct_user_activity", fmt="parquet", out=out
    ) == len(_query(warehouse, "select * from fct_user_activity"))
    table = pq.read_table(out)
    assert table.column_names == [r[0] for r in _query(warehouse, "describe fct_user_activity")]
    assert sorted(table.to_pylist(), key=lambda r: (r["date"], r["user_key"]))[0]["date"] == START
    adoption = tmp_path / "adoption.parquet"
    rows = export(Warehouse(warehouse), warehouse.parent, table="user_adoption", fmt="PARQUET", out=adoption)
    assert rows == pq.read_table(adoption).num_rows > 0


def test_query_of_a_macro_to_compressed_csv(warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "daily.csv.gz"
    query = f"select period_start, active_users from usage_timeseries('day', '{START}', '{END}');"
    assert export(Warehouse(warehouse), warehouse.parent, query=query, fmt="csv", out=out) == 2
    lines = gzip.decompress(out.read_bytes()).decode().splitlines()
    assert lines[0] == "period_start,active_users"
    assert [line.split(",")[0] for line in lines[1:]] == [START.isoformat(), END.isoformat()]


def test_identifiers_are_quoted_never_executed(warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "odd.csv"
    assert export(Warehouse(warehouse), warehouse.parent, table=ODD_NAME, fmt="csv", out=out) == 1
    assert out.read_text().splitlines() == ["one", "1"]
    assert _query(warehouse, "select count(*) from fct_dau_count")[0][0] == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"table": "fct_dau_count", "query": "select 1"}, "exactly one of --table NAME or --query SQL"),
        ({}, "exactly one of --table NAME or --query SQL"),
        ({"table": "no_such_table"}, "no table or view 'no_such_table' in the warehouse; use one of: .*fct"),
        ({"table": "fct_dau_count; drop table fct_dau_count"}, "no table or view"),
        ({"table": " "}, "--table is empty"),
        ({"query": " ; "}, "--query is empty"),
        ({"query": "selec 1"}, "--query failed: Parser Error"),
        ({"query": "select * from nowhere"}, "--query failed: Catalog Error"),
        ({"query": "delete from fct_dau_count"}, "--query failed"),
        ({"table": "fct_dau_count", "fmt": "xlsx"}, "--format 'xlsx' is not supported; use one of: csv"),
    ],
)
def test_bad_input_is_one_line_naming_the_fix(
    warehouse: Path, tmp_path: Path, kwargs: dict, message: str
) -> None:
    kwargs = {"fmt": "csv", **kwargs}
    with pytest.raises(ValueError, match=message) as raised:
        export(Warehouse(warehouse), warehouse.parent, out=tmp_path / "out.csv", **kwargs)
    assert "\n" not in str(raised.value)
    assert list(tmp_path.iterdir()) == []
    assert _query(warehouse, "select count(*) from fct_dau_count")[0][0] == 2


def test_bad_paths(warehouse: Path, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no warehouse at"):
        export(
            Warehouse(tmp_path / "missing.duckdb"),
            tmp_path,
            table="fct_dau_count",
            fmt="csv",
            out=tmp_path / "x.csv",
        )
    with pytest.raises(ValueError, match="does not exist; create it"):
        export(
            Warehouse(warehouse),
            warehouse.parent,
            table="fct_dau_count",
            fmt="csv",
            out=tmp_path / "nowhere" / "x.csv",
        )
    with pytest.raises(ValueError, match="is a directory"):
        export(Warehouse(warehouse), warehouse.parent, table="fct_dau_count", fmt="csv", out=tmp_path)
    schemaless = tmp_path / "killed.duckdb"  # a first run killed before its schema was written
    duckdb.connect(str(schemaless)).close()
    with pytest.raises(ValueError, match="the warehouse has no tables yet; run `analytics-pipeline demo`"):
        export(Warehouse(schemaless), tmp_path, table="fct_dau_count", fmt="csv", out=tmp_path / "x.csv")


def test_writes_atomically_and_leaves_the_warehouse_untouched(warehouse: Path, tmp_path: Path) -> None:
    out = tmp_path / "counts.csv"
    out.write_text("previous export\n")
    before = (warehouse.stat().st_mtime_ns, warehouse.stat().st_size)
    with pytest.raises(ValueError):
        export(Warehouse(warehouse), warehouse.parent, query="select error('boom')", fmt="csv", out=out)
    assert out.read_text() == "previous export\n"  # a failed export leaves the old file whole
    assert export(Warehouse(warehouse), warehouse.parent, table="fct_dau_count", fmt="csv", out=out) == 2
    assert out.read_text().splitlines()[0] == "date,user_count,organization"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["counts.csv"]  # no temporary file left
    assert (warehouse.stat().st_mtime_ns, warehouse.stat().st_size) == before
    assert not warehouse.with_name(warehouse.name + ".wal").exists()
