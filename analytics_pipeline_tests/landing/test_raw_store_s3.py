"""The raw store under an S3 prefix, against a real S3-compatible server on loopback: partitions land
as exactly one object each, read back, are replaced whole or not at all, and are quarantined aside."""

import datetime as dt
import tempfile
from pathlib import Path

import pyarrow.fs as pafs
import pytest

from analytics_pipeline.api.endpoints import BY_NAME, LANDED
from analytics_pipeline.config.raw_url import raw_location
from analytics_pipeline.landing import DamagedPartition, Lander, RawStore
from analytics_pipeline.landing.locks import NoLocks
from analytics_pipeline.organization import DEFAULT_ORGANIZATION
from analytics_pipeline.warehouse import Warehouse
from analytics_pipeline.warehouse.load import load_partition
from analytics_pipeline_tests.fakes import FakeClient
from analytics_pipeline_tests.s3_server import S3Server

DAYS = [dt.date(2026, 11, 1), dt.date(2026, 11, 2), dt.date(2026, 11, 3)]
DAU = BY_NAME["dau"]


@pytest.fixture
def spool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Where a writer to S3 keeps its local temporary file (made empty for the test)."""
    folder = tmp_path / "spool"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def store(s3_server: S3Server, spool: Path) -> RawStore:
    bucket = s3_server.create_bucket()
    env = {**s3_server.env(), "ANALYTICS_RAW_URL": f"s3://{bucket}/team/raw"}
    return RawStore.at(raw_location(env, Path("unused")))


def objects(s3_server: S3Server, store: RawStore) -> list[str]:
    """Every object under the store's root, relative to it."""
    listing = s3_server.filesystem().get_file_info(pafs.FileSelector(str(store.root), recursive=True))
    return sorted(
        entry.path.removeprefix(f"{store.root}/") for entry in listing if entry.type == pafs.FileType.File
    )


def test_every_endpoint_lands_one_object_a_partition_and_reads_back(
    s3_server: S3Server, store: RawStore, spool: Path
) -> None:
    assert store.url.startswith("s3://") and isinstance(store.locks, NoLocks)
    for endpoint in LANDED:
        Lander(FakeClient(), store).land(endpoint, DAYS)
    expected = []
    for endpoint in LANDED:
        keys = store.landed_days(endpoint)
        assert keys, endpoint.name
        expected += [f"{endpoint.name}/{endpoint.partition_column}={k}/part-0.parquet" for k in keys]
        for key in keys:
            assert store.read(endpoint, key).num_rows == store.info(endpoint, key).rows
    assert objects(s3_server, store) == sorted(expected)  # no temporary object, no lock object
    assert list(spool.iterdir()) == []  # nor a local temporary file left


def test_a_write_left_without_commit_publishes_nothing_and_keeps_the_old_partition(
    s3_server: S3Server, store: RawStore, spool: Path
) -> None:
    Lander(FakeClient(), store).land(DAU, DAYS[:1])
    before = store.info(DAU, DAYS[0])
    with pytest.raises(RuntimeError), store.writer(DAU, DAYS[0]) as writer:
        writer.write([{"user_email": "new@example.com"}] * 3)
        raise RuntimeError("the fetch failed halfway")
    assert store.info(DAU, DAYS[0]) == before
    with store.writer(DAU, DAYS[1]) as writer:
        writer.write([{"user_email": "new@example.com"}])  # never committed: the partition never appears
    assert not store.has_file(DAU, DAYS[1]) and store.landed_days(DAU) == DAYS[:1]
    assert list(spool.iterdir()) == []


def test_a_damaged_object_is_copied_to_the_quarantine_and_removed(
    s3_server: S3Server, store: RawStore
) -> None:
    Lander(FakeClient(), store).land(DAU, DAYS)
    with s3_server.filesystem().open_output_stream(str(store.partition_path(DAU, DAYS[1]))) as out:
        out.write(b"PAR1 not a parquet file")
    with pytest.raises(DamagedPartition, match=r"s3://.*/team/raw/\.quarantine/dau/date=2026-11-02-"):
        store.info(DAU, DAYS[1])
    assert store.landed_days(DAU) == [DAYS[0], DAYS[2]] and not store.exists(DAU, DAYS[1])
    [moved] = [o for o in objects(s3_server, store) if o.startswith(".quarantine/")]
    assert moved.startswith(".quarantine/dau/date=2026-11-02-")
    result = Lander(FakeClient(), store).land(DAU, DAYS, skip_landed=True)  # fetched anew, the rest kept
    assert [p.date for p in result.partitions] == [DAYS[1].isoformat()]


def test_the_warehouse_loads_a_partition_from_s3(store: RawStore, tmp_path: Path) -> None:
    Lander(FakeClient(), store).land(DAU, DAYS[:1])
    with Warehouse(tmp_path / "warehouse.duckdb", prepare=store.prepare_duckdb).writer() as con:
        loaded = load_partition(con, store, DAU, DAYS[0], organization=DEFAULT_ORGANIZATION)
        assert loaded.rows == store.info(DAU, DAYS[0]).rows > 0
        assert con.execute("select count(*) from fct_dau_users").fetchone() == (loaded.rows,)
