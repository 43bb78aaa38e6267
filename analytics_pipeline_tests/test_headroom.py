"""Work a writer's memory cap is too small for runs again with more, instead of failing the load."""

from pathlib import Path

import duckdb
import pytest

from analytics_pipeline.defs.assets.warehouse import DIM_USERS_MEMORY_LIMIT
from analytics_pipeline.warehouse import Warehouse, refresh_dim_users
from analytics_pipeline.warehouse.headroom import CEILING_BYTES, memory_limit_bytes, with_headroom

USERS = 60_000

FILL_SQL = """
insert into fct_dau_users by name
select
    date '2026-11-01' + (i % 30)::int as date,
    'user-' || (i % $users) || '@example-organisation.com' as user_key,
    'user-' || (i % $users) || '@example-organisation.com' as user_email,
    null as service_account_name
from range(2 * $users) as t(i)
"""


@pytest.fixture
def many_users(tmp_path: Path) -> Warehouse:
    """A warehouse whose ``dim_users`` rebuild needs more memory than a tight cap allows."""
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    with warehouse.writer() as con:
        con.execute("set memory_limit = '1GB'")
        con.execute(FILL_SQL, {"users": USERS})
    return warehouse


def test_memory_limit_is_read_in_bytes() -> None:
    con = duckdb.connect(config={"memory_limit": "96MiB"})
    assert memory_limit_bytes(con) == 96 * 1024**2


def test_work_that_fails_otherwise_is_not_run_again() -> None:
    con = duckdb.connect(config={"memory_limit": "8MiB"})
    calls = []

    def work() -> None:
        calls.append(1)
        con.execute("select * from no_such_table")

    with pytest.raises(duckdb.CatalogException):
        with_headroom(con, work, "a query")
    assert len(calls) == 1 and memory_limit_bytes(con) == 8 * 1024**2


def test_out_of_memory_at_the_ceiling_is_reported() -> None:
    con = duckdb.connect(config={"memory_limit": f"{CEILING_BYTES} bytes"})
    calls = []

    def work() -> None:
        calls.append(1)
        raise duckdb.OutOfMemoryException("could not allocate block")

    with pytest.raises(duckdb.OutOfMemoryException):
        with_headroom(con, work, "a query")
    assert len(calls) == 1


def test_dim_users_too_big_for_its_cap_is_rebuilt_under_a_larger_one(many_users: Warehouse) -> None:
    with many_users.writer(memory_limit=DIM_USERS_MEMORY_LIMIT) as con:
        assert memory_limit_bytes(con) == 8 * 1024**2
        with pytest.raises(duckdb.OutOfMemoryException):  # what the cap alone would do
            con.execute(
                "create temp table t as select user_key, any_value(user_email) from fct_dau_users group by 1"
            )
        assert refresh_dim_users(con) == USERS
        assert memory_limit_bytes(con) > 8 * 1024**2
        counts = con.execute("select count(distinct user_key), count(user_email) from dim_users").fetchone()
        assert counts == (USERS, USERS)
    with many_users.writer() as con:  # the raised cap lasted as long as that connection
        assert memory_limit_bytes(con) < 24 * 1024**2
