"""Several organisations in one warehouse: each load, delete, dim_users rebuild and key check touches its own
organisation's rows only; and a warehouse made before organisations (file or DuckLake) migrated in place,
every row the default organisation's, the column NOT NULL with no default left."""

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from analytics_pipeline.api.endpoints import BY_NAME, LANDED, USER_ACTIVITY_MONTHLY
from analytics_pipeline.defs.checks import UNIQUE_KEYS, evaluate
from analytics_pipeline.landing import Lander, RawStore
from analytics_pipeline.organization import DEFAULT_ORGANIZATION
from analytics_pipeline.warehouse import (
    LakeWarehouse,
    Warehouse,
    WarehouseDoors,
    load_partition,
    record_recheck,
    refresh_dim_users,
)
from analytics_pipeline.warehouse.extensions import OFFLINE_CONFIG, load_extensions
from analytics_pipeline.warehouse.headroom import write_with_headroom
from analytics_pipeline.warehouse.schema import TABLES, tables_without_organization
from analytics_pipeline.warehouse.sql import fill_placeholders, read_sql
from analytics_pipeline_tests.fakes import FakeClient
from analytics_pipeline_tests.postgres_server import PostgresServer
from analytics_pipeline_tests.warehouse.test_lake import lake_env, lake_of
from analytics_pipeline_tests.warehouse.test_warehouse import DAYS, land_all

ACME, GLOBEX = "acme", "globex"
MONTH = DAYS[0].replace(day=1)
TODAY = DAYS[-1] + dt.timedelta(days=1)
OLD_TABLES = Path(__file__).with_name("tables_before_organizations.sql")
MADE_WITH_ORGANIZATION = ("fct_budget_changes",)
"""Tables first made after organisations: no warehouse ever had them without the column."""
UNLOADED = ("pipeline_rechecks", "fct_budget_changes")
"""Tables no load writes (a re-check, budgets apply)."""
COLUMNS_SQL = """
    select table_name, column_index, column_name, data_type, is_nullable, column_default, comment
    from duckdb_columns()
    where database_name = current_database() and schema_name = 'main' and list_contains($tables, table_name)
    order by table_name, column_index
"""


def land_everything(store: RawStore) -> None:
    land_all(store)
    Lander(FakeClient(page_size=100), store, today=lambda: TODAY).land(USER_ACTIVITY_MONTHLY, [MONTH])


def load_everything(con: duckdb.DuckDBPyConnection, store: RawStore, organization: str) -> None:
    for endpoint in LANDED:
        for day in DAYS:
            load_partition(con, store, endpoint, day, organization=organization)
    load_partition(con, store, USER_ACTIVITY_MONTHLY, MONTH, organization=organization)
    refresh_dim_users(con, organization=organization)


TIMES = {
    "pipeline_partitions": ("fetched_at", "loaded_at", "checked_at"),
    "fct_budget_overrides": ("fetched_at",),
}
"""The columns that say when a row was fetched or loaded: two organisations' landings differ in them."""


def rows_of(warehouse: WarehouseDoors, organization: str | None = None) -> dict[str, list[tuple]]:
    """Every table's rows in order: all of them, or one organisation's without the column and the times."""
    found = {}
    with warehouse.reader() as con:
        for table in TABLES:
            if organization is None:
                found[table] = con.execute(f"select * from {table} order by all").fetchall()
            else:
                left_out = ", ".join(("organization", *TIMES.get(table, ())))
                sql = f"select * exclude ({left_out}) from {table} where organization = $o order by all"
                found[table] = con.execute(sql, {"o": organization}).fetchall()
    return found


@pytest.fixture
def stores(tmp_path: Path) -> dict[str, RawStore]:
    """Two organisations' raw partitions, the same members (the same emails) on the same days."""
    found = {org: RawStore(tmp_path / org / "raw") for org in (ACME, GLOBEX)}
    for store in found.values():
        land_everything(store)
    return found


@pytest.fixture
def shared(tmp_path: Path, stores: dict[str, RawStore]) -> Warehouse:
    """One warehouse holding both organisations' days."""
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    with warehouse.writer() as con:
        for org, store in stores.items():
            load_everything(con, store, org)
    return warehouse


def test_two_organisations_rows_for_the_same_day_and_email_coexist(shared: Warehouse) -> None:
    acme, globex = rows_of(shared, ACME), rows_of(shared, GLOBEX)
    assert acme == globex
    assert all(acme[t] for t in TABLES if t not in UNLOADED)  # the comparison compared something
    with shared.reader() as con:
        same = "select organization from fct_dau_users where date = $day and user_key = 'ada@example.com'"
        assert sorted(con.execute(same, {"day": DAYS[0]}).fetchall()) == [(ACME,), (GLOBEX,)]
        partitions = "select count(*) from pipeline_partitions where endpoint = 'dau' and date = $day"
        assert con.execute(partitions, {"day": DAYS[0]}).fetchall() == [(2,)]


def test_loading_or_emptying_one_organisations_day_never_touches_the_others(
    shared: Warehouse, stores: dict[str, RawStore]
) -> None:
    globex = rows_of(shared, GLOBEX)
    dau = BY_NAME["dau"]
    Lander(FakeClient(records=lambda e, s, t: []), stores[ACME]).land(dau, DAYS[:1])  # acme's day, empty
    with shared.writer() as con:
        assert load_partition(con, stores[ACME], dau, DAYS[0], organization=ACME).rows == 0
        load_partition(con, stores[GLOBEX], dau, DAYS[1], organization=GLOBEX)  # the other's, again
        refresh_dim_users(con, organization=ACME)
        status = (
            "select status from pipeline_partitions "
            "where organization = $o and endpoint = 'dau' and date = $d"
        )
        assert con.execute(status, {"o": ACME, "d": DAYS[0]}).fetchall() == [("empty",)]
        assert con.execute(status, {"o": GLOBEX, "d": DAYS[0]}).fetchall() == [("loaded",)]
    assert rows_of(shared, GLOBEX) == globex
    acme = rows_of(shared, ACME)
    assert [r for r in globex["fct_dau_users"] if r[0] == DAYS[0]]
    assert not [r for r in acme["fct_dau_users"] if r[0] == DAYS[0]]
    assert acme["fct_dau_users"] == [r for r in globex["fct_dau_users"] if r[0] != DAYS[0]]


def test_dim_users_keeps_each_organisations_members(shared: Warehouse) -> None:
    with shared.writer() as con:
        members = "select organization, user_key from dim_users order by all"
        both = con.execute(members).fetchall()
        assert both == [
            (org, key) for org in (ACME, GLOBEX) for key in ("ada@example.com", "service_account:ci-bot")
        ]
        for table in TABLES:
            if table.startswith("fct_"):
                con.execute(f"delete from {table} where organization = $o", {"o": ACME})
        assert refresh_dim_users(con, organization=ACME) == 0
        assert con.execute(members).fetchall() == [row for row in both if row[0] == GLOBEX]
        assert refresh_dim_users(con, organization=GLOBEX) == 2


def test_the_unique_key_checks_are_per_organisation(shared: Warehouse, stores: dict[str, RawStore]) -> None:
    with shared.writer() as con:
        for org in (ACME, GLOBEX):  # the same (date, user_key) in both: no duplicate
            outcomes = evaluate(con, "fct_dau_users", UNIQUE_KEYS, DAYS, organization=org)
            assert all(o.passed for o in outcomes.values()), org
            dim_users = con.execute(
                read_sql("checks/dim_users_duplicates"), {"examples": 5, "organization": org}
            )
            assert dim_users.fetchall()[0][0] == 0
        con.execute(
            "insert into fct_dau_users "
            "select * from fct_dau_users where organization = $o and date = $d limit 1",
            {"o": ACME, "d": DAYS[0]},
        )
        acme = evaluate(con, "fct_dau_users", UNIQUE_KEYS, DAYS, organization=ACME)
        assert not acme[DAYS[0]].passed and acme[DAYS[1]].passed
        assert acme[DAYS[0]].metadata["examples"] == [f"{ACME} | {DAYS[0]} | ada@example.com"]
        globex = evaluate(con, "fct_dau_users", UNIQUE_KEYS, DAYS, organization=GLOBEX)
        assert all(o.passed for o in globex.values())
        # A load checks its own organisation's day only: acme's duplicate does not hold globex's up.
        assert load_partition(con, stores[GLOBEX], BY_NAME["dau"], DAYS[0], organization=GLOBEX).rows == 2


def test_a_write_that_forgets_the_organisation_fails(shared: Warehouse) -> None:
    with shared.writer() as con, pytest.raises(duckdb.ConstraintException, match="organization"):
        con.execute("insert into fct_dau_count (date, user_count) values ($d, 1)", {"d": DAYS[0]})


# -- a warehouse made before organisations -----------------------------------------------------------


def old_tables_sql() -> str:
    return fill_placeholders(OLD_TABLES.read_text(encoding="utf-8"), {}, source=OLD_TABLES.name)


def copy_without_organization(con: duckdb.DuckDBPyConnection, source: Path) -> None:
    """Into ``con``'s tables (the old schema), every row of the warehouse file ``source`` but its
    organisation: what the release before organisations would have loaded."""
    con.execute(
        f"attach '{source}' as source (read_only)"
    )  # a test's own tmp_path: ATTACH takes no parameter
    for table in TABLES:
        if table in MADE_WITH_ORGANIZATION:
            continue
        # pipeline_partitions.source came after organisations: the older release had neither.
        later = ", source" if table == "pipeline_partitions" else ""
        con.execute(
            f"insert into {table} by name select * exclude (organization{later}) from source.main.{table}"
        )
    con.execute("detach source")


@pytest.fixture
def loaded(tmp_path: Path, stores: dict[str, RawStore]) -> Warehouse:
    """A warehouse of the default organisation's days (and a re-check): what the old one must become."""
    warehouse = Warehouse(tmp_path / "loaded" / "warehouse.duckdb")
    with warehouse.writer() as con:
        load_everything(con, stores[ACME], DEFAULT_ORGANIZATION)
        checked_at = dt.datetime(2026, 11, 5, tzinfo=dt.UTC)
        record_recheck(con, DAYS[0], checked_at, "changed", ["dau"], [], organization=DEFAULT_ORGANIZATION)
    return warehouse


def columns(warehouse: WarehouseDoors) -> list[tuple]:
    with warehouse.reader() as con:
        return con.execute(COLUMNS_SQL, {"tables": list(TABLES)}).fetchall()


def assert_migrated(migrated: WarehouseDoors, loaded: Warehouse, fresh: WarehouseDoors) -> None:
    """Once a writer has opened it: every row the default organisation's and otherwise as loaded, and the
    columns as a new warehouse's."""
    with migrated.writer() as con:
        assert tables_without_organization(con) == []
    assert rows_of(migrated) == rows_of(loaded)
    assert all(row[-1] == DEFAULT_ORGANIZATION for rows in rows_of(migrated).values() for row in rows)
    with fresh.writer():
        pass
    assert columns(migrated) == columns(fresh)
    organization = [c for c in columns(migrated) if c[2] == "organization"]
    assert len(organization) == len(TABLES)
    # DuckLake shows a column without a default as the text NULL.
    assert all(not nullable and default in (None, "NULL") for *_, nullable, default, _comment in organization)
    with migrated.writer() as con:
        assert tables_without_organization(con) == []
        with pytest.raises(duckdb.ConstraintException, match="organization"):
            con.execute("insert into fct_dau_count (date, user_count) values ($d, 1)", {"d": DAYS[0]})


def assert_loads_keep_working(migrated: WarehouseDoors, stores: dict[str, RawStore]) -> None:
    """The default organisation's day loaded again changes none of its rows; another's loads beside it."""
    before = rows_of(migrated, DEFAULT_ORGANIZATION)
    with migrated.writer() as con:
        load_partition(con, stores[ACME], BY_NAME["dau"], DAYS[0], organization=DEFAULT_ORGANIZATION)
    # Through the headroom, as the assets load: a whole organisation's days in one writer may need more.
    write_with_headroom(migrated, lambda con: load_everything(con, stores[GLOBEX], GLOBEX), "loading")
    after = rows_of(migrated, DEFAULT_ORGANIZATION)
    assert after == before
    assert rows_of(migrated, GLOBEX)["fct_dau_users"] == before["fct_dau_users"]  # the same landed records


def test_a_warehouse_file_made_before_organisations_is_migrated_in_place(
    tmp_path: Path, loaded: Warehouse, stores: dict[str, RawStore]
) -> None:
    old = tmp_path / "old" / "warehouse.duckdb"
    old.parent.mkdir()
    with duckdb.connect(str(old)) as con:
        con.execute(old_tables_sql())
        copy_without_organization(con, loaded.path)
    migrated = Warehouse(old)
    assert_migrated(migrated, loaded, Warehouse(tmp_path / "fresh" / "warehouse.duckdb"))
    assert_loads_keep_working(migrated, stores)


def test_a_ducklake_made_before_organisations_is_migrated_in_place(
    tmp_path: Path, loaded: Warehouse, stores: dict[str, RawStore], postgres: PostgresServer
) -> None:
    def lake(name: str) -> tuple[LakeWarehouse, str]:
        (tmp_path / name).mkdir()
        database = postgres.create_database()
        return lake_of(lake_env(postgres, database, tmp_path / name)), database

    migrated, database = lake("old-lake")
    with duckdb.connect(config=dict(OFFLINE_CONFIG)) as con:
        load_extensions(con, "ducklake", "postgres_scanner")
        target = f"ducklake:postgres:{postgres.libpq(database)}"
        con.execute(f"attach '{target}' as lake (data_path '{tmp_path / 'old-lake'}')")
        con.execute("use lake")
        con.execute(old_tables_sql())
        copy_without_organization(con, loaded.path)
    assert_migrated(migrated, loaded, lake("fresh-lake")[0])
    assert_loads_keep_working(migrated, stores)


@pytest.mark.parametrize("kind", ["file", "lake"])
def test_a_warehouse_made_before_source_gets_it_every_row_api(
    tmp_path: Path, stores: dict[str, RawStore], postgres: PostgresServer, kind: str
) -> None:
    """A warehouse with organisations but no pipeline_partitions.source (the release before issue 18):
    the first writer adds it in place, every partition it holds 'api', and loads go on."""
    if kind == "file":
        warehouse: WarehouseDoors = Warehouse(tmp_path / "old" / "warehouse.duckdb")
    else:
        (tmp_path / "old-lake").mkdir()
        warehouse = lake_of(lake_env(postgres, postgres.create_database(), tmp_path / "old-lake"))
    with warehouse.writer() as con:
        load_everything(con, stores[ACME], DEFAULT_ORGANIZATION)
        con.execute("alter table pipeline_partitions drop column source")
    with warehouse.writer() as con:
        sources = con.execute("select distinct source from pipeline_partitions").fetchall()
    assert sources == [("api",)]
    assert_loads_keep_working(warehouse, stores)
