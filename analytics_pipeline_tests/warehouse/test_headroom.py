"""Work a writer's memory cap is too small for runs again with more, instead of failing the load."""

import logging
from functools import partial
from pathlib import Path

import duckdb
import pytest

from analytics_pipeline.defs.assets.warehouse import DIM_USERS_MEMORY_LIMIT
from analytics_pipeline.organization import DEFAULT_ORGANIZATION
from analytics_pipeline.warehouse import Warehouse, refresh_dim_users
from analytics_pipeline.warehouse.duckdb_errors import is_out_of_memory
from analytics_pipeline.warehouse.headroom import CEILING_BYTES, memory_limit_bytes, write_with_headroom
from analytics_pipeline.warehouse.sql import transaction

USERS = 60_000

FILL_SQL = """
insert into fct_dau_users by name
select
    date '2026-11-01' + (i % 30)::int as date,
    'user-' || (i % $users) || '@example-organisation.com' as user_key,
    'user-' || (i % $users) || '@example-organisation.com' as user_email,
    null as service_account_name,
    $organization as organization
from range(2 * $users) as t(i)
"""


@pytest.fixture
def many_users(tmp_path: Path) -> Warehouse:
    """A warehouse whose ``dim_users`` rebuild needs more memory than a tight cap allows."""
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    with warehouse.writer() as con:
        con.execute("set memory_limit = '1GB'")
        con.execute(FILL_SQL, {"users": USERS, "organization": DEFAULT_ORGANIZATION})
    return warehouse


def test_memory_limit_is_read_in_bytes() -> None:
    con = duckdb.connect(config={"memory_limit": "96MiB"})
    assert memory_limit_bytes(con) == 96 * 1024**2


def test_work_that_fails_otherwise_is_not_run_again(tmp_path: Path) -> None:
    calls = []

    def work(con: duckdb.DuckDBPyConnection) -> None:
        calls.append(memory_limit_bytes(con))
        con.execute("select * from no_such_table")

    with pytest.raises(duckdb.CatalogException):
        write_with_headroom(Warehouse(tmp_path / "w.duckdb"), work, "a query", memory_limit="8MiB")
    assert calls == [8 * 1024**2]


def test_out_of_memory_at_the_ceiling_is_reported(tmp_path: Path) -> None:
    calls = []

    def work(con: duckdb.DuckDBPyConnection) -> None:
        calls.append(1)
        raise duckdb.OutOfMemoryException("could not allocate block")

    with pytest.raises(duckdb.OutOfMemoryException):
        write_with_headroom(
            Warehouse(tmp_path / "w.duckdb"), work, "a query", memory_limit=f"{CEILING_BYTES} bytes"
        )
    assert len(calls) == 1


INSERT_SQL = """
insert into t select i, 'user-' || i || '@example-organisation.com', 2 * i, 3 * i from range(100000) as r(i)
"""
CREATE_SQL = "create table if not exists t (id bigint, email varchar, messages bigint, lines bigint)"
CHECK_SQL = """
select count(*), count(distinct id), count(*) filter (where messages <> 2 * id or lines <> 3 * id)
from t
"""


def test_a_commit_that_runs_out_of_memory_runs_again_on_a_new_connection(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Inserted rows wait in memory until the commit writes them, so the commit is what runs out.
    warehouse = Warehouse(tmp_path / "w.duckdb")
    connections = []

    def insert(con: duckdb.DuckDBPyConnection) -> None:
        connections.append(con)
        con.execute(CREATE_SQL)
        with transaction(con):
            con.execute(INSERT_SQL)

    with warehouse.writer(memory_limit="2MiB") as con:  # what the cap alone does
        # DuckDB 2.0 ran out at the commit, DuckDB 1.5 in the insert: either way out of memory, and the
        # commit's own error, never "cannot rollback - no transaction is active".
        with pytest.raises(duckdb.Error) as raised:
            insert(con)
        assert is_out_of_memory(raised.value), raised.value
    with caplog.at_level(logging.WARNING):
        write_with_headroom(warehouse, insert, "an insert", memory_limit="2MiB")
    assert len(connections) == 3 and connections[1] is not connections[2]
    assert "an insert needed more than the writer's 2 MiB; running it again with 8 MiB" in caplog.text
    with warehouse.writer() as con:
        assert con.execute(CHECK_SQL).fetchone() == (100_000, 100_000, 0)


BATCH_SQL = """
insert into t
select $first + i, 'user-' || i || '@example-organisation.com', 2 * ($first + i), 3 * ($first + i)
from range(20000) as r(i)
"""


def test_a_checkpoint_that_runs_out_of_memory_runs_again_on_a_new_connection(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A commit past checkpoint_threshold checkpoints at once; under a tight cap that runs out.
    warehouse = Warehouse(tmp_path / "w.duckdb")
    failures = []

    def insert_batches(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("set checkpoint_threshold = '64KiB'")
        con.execute(CREATE_SQL)
        for first in range(0, 80000, 20000):
            try:
                with transaction(con):  # each batch replaces itself, so running them again is safe
                    con.execute("delete from t where id >= $first and id < $first + 20000", {"first": first})
                    con.execute(BATCH_SQL, {"first": first})
            except (
                duckdb.Error
            ) as exc:  # the commit's checkpoint: fatal in DuckDB 2.0, a failed commit in 1.5
                if is_out_of_memory(exc):
                    failures.append(first)
                raise

    with caplog.at_level(logging.WARNING):
        write_with_headroom(warehouse, insert_batches, "the batches", memory_limit="3MiB")
    assert failures  # the first writer's checkpoint did run out
    assert "the batches needed more than the writer's 3 MiB" in caplog.text
    with warehouse.writer() as con:
        assert con.execute(CHECK_SQL).fetchone() == (80_000, 80_000, 0)


def test_dim_users_too_big_for_its_cap_is_rebuilt_under_a_larger_one(
    many_users: Warehouse, caplog: pytest.LogCaptureFixture
) -> None:
    with many_users.writer(memory_limit=DIM_USERS_MEMORY_LIMIT) as con:
        assert memory_limit_bytes(con) == 8 * 1024**2
        with pytest.raises(duckdb.OutOfMemoryException):  # what the cap alone would do
            con.execute(
                "create temp table t as select user_key, any_value(user_email) from fct_dau_users group by 1"
            )
    with caplog.at_level(logging.WARNING):
        rows = write_with_headroom(
            many_users,
            partial(refresh_dim_users, organization=DEFAULT_ORGANIZATION),
            "rebuilding dim_users",
            memory_limit=DIM_USERS_MEMORY_LIMIT,
        )
    assert rows == USERS
    assert "rebuilding dim_users needed more than the writer's 8 MiB" in caplog.text
    with many_users.writer() as con:  # the raised cap lasted as long as that connection
        assert memory_limit_bytes(con) < 24 * 1024**2
        counts = con.execute("select count(distinct user_key), count(user_email) from dim_users").fetchone()
        assert counts == (USERS, USERS)
