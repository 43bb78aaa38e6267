import contextlib
import dataclasses
import datetime as dt
import json
import multiprocessing
import os
import threading
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import analytics_pipeline
from analytics_pipeline.api.endpoints import BY_NAME, LANDED
from analytics_pipeline.dates import days_between
from analytics_pipeline.landing import DamagedPartition, Lander, RawStore
from analytics_pipeline.landing.store import METADATA_KEY
from analytics_pipeline.organization import DEFAULT_ORGANIZATION
from analytics_pipeline.warehouse import (
    MissingPartition,
    Warehouse,
    WarehouseBusy,
    load_partition,
    refresh_dim_users,
)
from analytics_pipeline_tests.fakes import FakeClient

DAYS = days_between(dt.date(2026, 11, 1), dt.date(2026, 11, 3))
FACT_TABLES = [e.fact_table for e in LANDED]


def land_all(store: RawStore, client: FakeClient | None = None) -> None:
    lander = Lander(client or FakeClient(page_size=100), store)
    for endpoint in LANDED:
        lander.land(endpoint, DAYS)


def load_all(warehouse: Warehouse, store: RawStore) -> None:
    with warehouse.writer() as con:
        for endpoint in LANDED:
            for day in DAYS:
                load_partition(con, store, endpoint, day, organization=DEFAULT_ORGANIZATION)
        refresh_dim_users(con, organization=DEFAULT_ORGANIZATION)


def snapshot(warehouse: Warehouse) -> dict[str, list[tuple]]:
    with warehouse.reader() as con:
        tables = {
            t: con.execute(f"select * from {t} order by all").fetchall() for t in [*FACT_TABLES, "dim_users"]
        }
        tables["pipeline_partitions"] = con.execute(
            "select * exclude (loaded_at) from pipeline_partitions order by all"
        ).fetchall()
    return tables


@pytest.fixture
def store(tmp_path: Path) -> RawStore:
    return RawStore(tmp_path / "raw")


@pytest.fixture
def warehouse(tmp_path: Path) -> Warehouse:
    return Warehouse(tmp_path / "warehouse.duckdb")


def test_load_fills_every_fact_table(store: RawStore, warehouse: Warehouse) -> None:
    land_all(store)
    load_all(warehouse, store)
    with warehouse.reader() as con:

        def count(sql: str) -> int:
            return con.execute(sql).fetchone()[0]

        assert count("select count(*) from fct_dau_count") == 3
        assert count("select count(*) from fct_dau_users") == 6
        assert count("select count(*) from fct_dau_users where user_key = 'service_account:ci-bot'") == 3
        assert count("select count(*) from fct_user_activity where user_email is null") == 3
        assert count("select count(*) from fct_editor_language_activity") == 6
        assert count("select sum(credits_consumed) from fct_credit_usage") == 60
        assert count("select min(limit_value) from fct_budget_overrides") == 2500000
        assert count("select count(*) from dim_users where is_service_account") == 1
        assert count("select count(*) from pipeline_partitions") == len(LANDED) * len(DAYS)
        assert count("select sum(requests) from pipeline_partitions") > 0


def test_reloading_a_partition_changes_nothing(store: RawStore, warehouse: Warehouse) -> None:
    land_all(store)
    load_all(warehouse, store)
    before = snapshot(warehouse)
    load_all(warehouse, store)
    assert snapshot(warehouse) == before


def test_empty_day_is_recorded_as_fetched_and_empty(store: RawStore, warehouse: Warehouse) -> None:
    Lander(FakeClient(records=lambda e, s, t: []), store).land(BY_NAME["dau"], DAYS[:1])
    with warehouse.writer() as con:
        load_partition(con, store, BY_NAME["dau"], DAYS[0], organization=DEFAULT_ORGANIZATION)
        assert con.execute("select count(*) from fct_dau_users").fetchone()[0] == 0
        assert con.execute("select rows, status from pipeline_partitions").fetchall() == [(0, "empty")]


def test_missing_partition_is_a_clear_error(store: RawStore, warehouse: Warehouse) -> None:
    with warehouse.writer() as con, pytest.raises(MissingPartition, match="materialize raw_dau first"):
        load_partition(con, store, BY_NAME["dau"], DAYS[0], organization=DEFAULT_ORGANIZATION)


def test_failed_load_keeps_the_previous_rows(store: RawStore, warehouse: Warehouse) -> None:
    land_all(store)
    load_all(warehouse, store)
    before = snapshot(warehouse)
    # A landed file whose limit is not a number: the insert fails inside the transaction.
    Lander(
        FakeClient(records=lambda e, s, t: [{"user_email": "ada@example.com", "config": {"limit": "lots"}}]),
        store,
    ).land(BY_NAME["budget_overrides"], DAYS[-1:])
    with warehouse.writer() as con, pytest.raises(duckdb.Error):
        load_partition(con, store, BY_NAME["budget_overrides"], DAYS[-1], organization=DEFAULT_ORGANIZATION)
    assert snapshot(warehouse) == before


def test_a_failed_load_of_an_intact_partition_keeps_it(store: RawStore, warehouse: Warehouse) -> None:
    Lander(
        FakeClient(records=lambda e, s, t: [{"user_email": "ada@example.com", "config": {"limit": "lots"}}]),
        store,
    ).land(BY_NAME["budget_overrides"], DAYS[-1:])
    with warehouse.writer() as con, pytest.raises(duckdb.ConversionException):
        load_partition(con, store, BY_NAME["budget_overrides"], DAYS[-1], organization=DEFAULT_ORGANIZATION)
    assert store.exists(BY_NAME["budget_overrides"], DAYS[-1]) and store.quarantined == []


def _break_first_page(path: Path) -> None:
    """Overwrite the first page header of the first column: the footer stays whole, the data does not."""
    column = pq.read_metadata(path).row_group(0).column(0)
    offset = column.dictionary_page_offset or column.data_page_offset
    data = bytearray(path.read_bytes())
    data[offset : offset + 8] = b"\xff" * 8
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["truncated", "foreign", "first_page"])
def test_a_damaged_partition_fails_its_load_in_one_line_and_is_quarantined(
    store: RawStore, warehouse: Warehouse, how: str
) -> None:
    land_all(store)
    load_all(warehouse, store)
    before = snapshot(warehouse)
    endpoint, day = BY_NAME["credit_usage"], DAYS[1]
    path = store.partition_path(endpoint, day)
    if how == "truncated":
        path.write_bytes(path.read_bytes()[:-100])
    elif how == "foreign":
        pq.write_table(pa.table({"x": [1]}), path)
    else:
        _break_first_page(path)
    with warehouse.writer() as con, pytest.raises(DamagedPartition) as info:
        load_partition(con, store, endpoint, day, organization=DEFAULT_ORGANIZATION)
    assert str(info.value).startswith(f"credit_usage {day}: the landed partition {path} is damaged (")
    assert str(info.value).endswith(", and running again fetches it anew")
    assert not path.exists() and len(list((store.root / ".quarantine" / "credit_usage").iterdir())) == 1
    assert snapshot(warehouse) == before


def test_a_partition_landed_with_a_repeated_record_is_not_loaded_but_fetched_anew(
    store: RawStore, warehouse: Warehouse
) -> None:
    """A partition landed before repeated records were collapsed: its day is refused before it commits."""
    land_all(store)
    load_all(warehouse, store)
    before = snapshot(warehouse)
    endpoint, day = BY_NAME["dau"], DAYS[1]
    path = store.partition_path(endpoint, day)
    table, info = store.read(endpoint, day), store.info(endpoint, day)
    info.rows += 1
    metadata = {METADATA_KEY: json.dumps(dataclasses.asdict(info)).encode()}
    pq.write_table(pa.concat_tables([table, table.slice(0, 1)]).replace_schema_metadata(metadata), path)
    with warehouse.writer() as con, pytest.raises(DamagedPartition) as raised:
        load_partition(con, store, endpoint, day, organization=DEFAULT_ORGANIZATION)
    problem = "1 (organization, date, user_key) keys are in more than one row"
    assert str(raised.value).startswith(f"dau {day}: the landed partition {path} is damaged ({problem})")
    assert snapshot(warehouse) == before
    Lander(FakeClient(), store).land(endpoint, DAYS, skip_landed=True)
    with warehouse.writer() as con:
        assert load_partition(con, store, endpoint, day, organization=DEFAULT_ORGANIZATION).rows == 2


def _load_in_process(data_dir: str, barrier) -> None:
    store = RawStore(Path(data_dir) / "raw")
    barrier.wait()
    load_all(Warehouse(Path(data_dir) / "warehouse.duckdb"), store)


def test_concurrent_writers_queue_instead_of_failing(
    tmp_path: Path, store: RawStore, warehouse: Warehouse
) -> None:
    land_all(store)
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(3)
    workers = [ctx.Process(target=_load_in_process, args=(str(tmp_path), barrier)) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [w.exitcode for w in workers] == [0, 0, 0]
    with warehouse.reader() as con:
        assert con.execute("select count(*) from fct_dau_users").fetchone()[0] == 6


def test_a_reader_in_the_writers_process_is_kept_out_as_busy_not_as_a_damaged_file(
    store: RawStore, warehouse: Warehouse
) -> None:
    """DuckDB refuses a read-only connection where this process has the file open read-write."""
    land_all(store)
    load_all(warehouse, store)
    with warehouse.writer(), pytest.raises(WarehouseBusy, match=f"this process \\(PID {os.getpid()}\\)"):
        with warehouse.reader():
            pass
    warehouse.verify()


def test_a_waiting_reader_reads_what_a_writer_in_another_thread_wrote(
    store: RawStore, warehouse: Warehouse
) -> None:
    land_all(store)
    load_all(warehouse, store)
    opened, wrote = threading.Event(), threading.Event()

    def write() -> None:
        with warehouse.writer() as con:
            con.execute("delete from fct_dau_count")
            opened.set()
            wrote.wait(timeout=60)

    writer = threading.Thread(target=write)
    writer.start()
    assert opened.wait(timeout=60)
    waits: list[float] = []

    def writer_finishes_while_we_wait(seconds: float) -> None:
        waits.append(seconds)
        wrote.set()
        writer.join(timeout=60)

    with Warehouse(warehouse.path, sleep=writer_finishes_while_we_wait).reader(wait=True) as con:
        assert con.execute("select count(*) from fct_dau_count").fetchall() == [(0,)]
    assert len(waits) == 1


def test_a_writer_waits_for_a_reader_of_its_own_process(store: RawStore, warehouse: Warehouse) -> None:
    """Not a staging copy: DuckDB would go on handing this process the file from before the publish."""
    land_all(store)
    load_all(warehouse, store)
    reading = contextlib.ExitStack()
    con = reading.enter_context(warehouse.reader())
    assert con.execute("select count(*) from fct_dau_count").fetchall() == [(3,)]
    inode = warehouse.path.stat().st_ino

    with Warehouse(warehouse.path, sleep=lambda seconds: reading.close()).writer() as con:
        con.execute("delete from fct_dau_count")

    assert warehouse.path.stat().st_ino == inode  # written in place, not published over
    with warehouse.reader() as con:
        assert con.execute("select count(*) from fct_dau_count").fetchall() == [(0,)]


def test_the_package_opens_duckdb_files_only_through_the_two_doors() -> None:
    """``Warehouse.reader()`` and ``Warehouse.writer()``, in ``warehouse/connection.py``, and nowhere else
    (``warehouse/lake.py`` opens in-memory databases only, to attach the DuckLake behind the same doors;
    ``warehouse/table_schemas.py`` an empty in-memory one, to describe the schema to Dagster)."""
    package = Path(analytics_pipeline.__file__).parent
    opening = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if "duckdb.connect(" in path.read_text() or "from duckdb import connect" in path.read_text()
    ]
    assert sorted(opening) == ["warehouse/connection.py", "warehouse/lake.py", "warehouse/table_schemas.py"]
