"""Backfills that derive final days' dau and user-activity from editor-language (issue 18): fewer
requests, the warehouse still exactly what the API reports; days the checks refuse are fetched."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from analytics_pipeline.api.endpoints import DAU, EDITOR_LANGUAGE, USER_ACTIVITY
from analytics_pipeline.backfill.derivation import final_days
from analytics_pipeline.backfill.scheduler import BackfillOutcome
from analytics_pipeline.backfill.scheduler import backfill as run_backfill
from analytics_pipeline.config.settings import Settings
from analytics_pipeline.dates import days_between, month_start, utc_today, yesterday
from analytics_pipeline.defs.build import api_resource, build_definitions
from analytics_pipeline.defs.organization_names import OrgNames
from analytics_pipeline.landing import RawStore
from analytics_pipeline.organization import DEFAULT_ORGANIZATION
from analytics_pipeline.provisional import DEFAULT_RECHECK_DAYS
from analytics_pipeline.sandbox import SandboxServer, SyntheticOrg
from analytics_pipeline.warehouse import Warehouse
from analytics_pipeline.warehouse.derive import DERIVE_MEMORY_LIMIT, derive_days
from analytics_pipeline_tests.conftest import (
    SANDBOX_TOKEN,
    TEST_BURST,
    TEST_REQUESTS_PER_MINUTE,
    run_cli,
    sandbox_env,
    warehouse_snapshot,
)

TODAY = utc_today()
END = yesterday(TODAY)
START = END - dt.timedelta(days=29)
DAYS = days_between(START, END)
FINAL = final_days(DAYS, TODAY, DEFAULT_RECHECK_DAYS)


def serve(org: SyntheticOrg) -> SandboxServer:
    return SandboxServer(
        org,
        tokens=(SANDBOX_TOKEN,),
        requests_per_minute=TEST_REQUESTS_PER_MINUTE,
        burst=TEST_BURST,
        today=TODAY,
    )


def backfill(server: SandboxServer, data_dir: Path, *extra: str) -> int:
    """One ``analytics-pipeline backfill`` of the 30 days; the requests the sandbox saw."""
    env = sandbox_env(server, data_dir)
    before = server.stats.total
    result = run_cli("backfill", "--start", START.isoformat(), "--end", END.isoformat(), *extra, env=env)
    assert result.exit_code == 0, result.output
    return server.stats.total - before


def warehouse(data_dir: Path) -> Warehouse:
    return Warehouse(data_dir / "data" / "warehouse.duckdb")


def assert_equals_truth(org: SyntheticOrg, con: duckdb.DuckDBPyConnection) -> None:
    """fct_dau_users and fct_user_activity hold exactly what dau and user-activity answer, day by day."""
    truth = org.seen_on(TODAY)
    for day in DAYS:
        members = con.execute(
            "select user_key from fct_dau_users where date = ? order by user_key", [day]
        ).fetchall()
        expected = sorted(
            r.get("user_email") or f"service_account:{r['service_account_name']}"
            for r in truth.dau_users(day)
        )
        assert [m for (m,) in members] == expected, day
        rows = con.execute(
            "select * exclude (date, organization) from fct_user_activity where date = ? order by user_key",
            [day],
        ).fetchall()
        columns = [c[0] for c in con.description]
        loaded = [dict(zip(columns, row, strict=True)) for row in rows]
        answer = sorted(
            truth.user_activity(day, day),
            key=lambda r: r.get("user_email") or "service_account:" + r["service_account_name"],
        )
        assert len(loaded) == len(answer), day
        for got, want in zip(loaded, answer, strict=True):
            assert got["user_email"] == want.get("user_email")
            assert got["service_account_name"] == want.get("service_account_name")
            assert {k: got[k] for k in want["metrics"]} == want["metrics"], day


def sources(con: duckdb.DuckDBPyConnection, endpoint: str) -> dict[dt.date, str]:
    rows = con.execute(
        "select date, source from pipeline_partitions where endpoint = ?", [endpoint]
    ).fetchall()
    return dict(rows)


@pytest.fixture(scope="module")
def org() -> SyntheticOrg:
    return SyntheticOrg(seed=23, people=40, service_accounts=2)


@pytest.fixture(scope="module")
def server(org: SyntheticOrg) -> Iterator[SandboxServer]:
    with serve(org) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def fetched_everything(server: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """Today's way, for comparison: every endpoint fetched for every day (``--no-derive``)."""
    data_dir = tmp_path_factory.mktemp("fetched")
    return data_dir, backfill(server, data_dir, "--no-derive")


@pytest.fixture(scope="module")
def derived(server: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    data_dir = tmp_path_factory.mktemp("derived")
    return data_dir, backfill(server, data_dir)


@pytest.fixture
def derived_reader(derived: tuple[Path, int]) -> Iterator[duckdb.DuckDBPyConnection]:
    with warehouse(derived[0]).reader() as con:
        yield con


def test_a_derived_backfill_sends_at_most_60_percent_of_the_requests(
    fetched_everything: tuple[Path, int], derived: tuple[Path, int]
) -> None:
    assert derived[1] <= 0.6 * fetched_everything[1], (derived[1], fetched_everything[1])


def test_the_derived_warehouse_equals_the_fetched_one_and_the_truth(
    org: SyntheticOrg,
    fetched_everything: tuple[Path, int],
    derived: tuple[Path, int],
    derived_reader: duckdb.DuckDBPyConnection,
) -> None:
    assert_equals_truth(org, derived_reader)
    a, b = warehouse_snapshot(derived[0] / "data"), warehouse_snapshot(fetched_everything[0] / "data")
    for table in a:
        if table != "pipeline_partitions":
            assert a[table] == b[table], table


def test_final_days_are_derived_and_provisional_ones_fetched_and_none_lands_as_raw(
    derived: tuple[Path, int], derived_reader: duckdb.DuckDBPyConnection
) -> None:
    for endpoint in (DAU.name, USER_ACTIVITY.name):
        by_day = sources(derived_reader, endpoint)
        assert sorted(by_day) == DAYS
        assert {d for d, s in by_day.items() if s == "derived"} == set(FINAL)
        landed = {p.name for p in (derived[0] / "data" / "raw" / endpoint).glob("date=*")}
        assert landed == {f"date={d}" for d in DAYS if d not in FINAL}
    requests = derived_reader.execute(
        "select sum(requests) from pipeline_partitions where source = 'derived'"
    ).fetchall()[0][0]
    assert requests == 0


def test_a_second_backfill_of_a_derived_range_sends_nothing(
    server: SandboxServer, derived: tuple[Path, int]
) -> None:
    assert backfill(server, derived[0]) == 0


def test_activity_without_an_editor_is_caught_and_those_days_are_fetched(tmp_path: Path) -> None:
    org = SyntheticOrg(seed=23, people=40, service_accounts=2, unattributed_share=0.05)
    affected = {d for d in FINAL if org.unattributed(d).any()}
    assert affected and affected != set(FINAL)  # the fixture exercises both paths
    with serve(org) as server:
        backfill(server, tmp_path)
    with warehouse(tmp_path).reader() as con:
        assert_equals_truth(org, con)
        for endpoint in (DAU.name, USER_ACTIVITY.name):
            by_day = sources(con, endpoint)
            assert {d for d in FINAL if by_day[d] == "api"} == affected
            assert {d for d in FINAL if by_day[d] == "derived"} == set(FINAL) - affected


def test_rebuild_derives_the_days_again_without_a_request(
    server: SandboxServer, derived: tuple[Path, int], tmp_path: Path
) -> None:
    """The warehouse deleted and rebuilt from raw: every derived day is derived again under the same
    checks (an edge month's with the answer its backfill kept), with no request."""
    data = tmp_path / "data"
    shutil.copytree(derived[0] / "data", data)
    loaded = warehouse_snapshot(data)
    (data / "warehouse.duckdb").unlink()
    env = sandbox_env(server, tmp_path)
    sent = server.stats.total

    result = run_cli("rebuild", env={**env, "AUGMENT_API_TOKEN": ""})

    assert result.exit_code == 0, result.output
    assert f"derived again for {len(FINAL)} days" in result.output
    assert server.stats.total == sent
    assert warehouse_snapshot(data) == loaded
    with warehouse(tmp_path).reader() as con:
        assert set(sources(con, DAU.name).values()) == {"api", "derived"}


def test_rebuild_without_the_kept_answer_leaves_an_edge_month_to_the_backfill(
    server: SandboxServer, derived: tuple[Path, int], tmp_path: Path
) -> None:
    """Without the check answers kept beside the raw partitions, an edge month's derived days cannot be
    checked without a request: rebuild says so, and a backfill loads them with that one request."""
    data = tmp_path / "data"
    shutil.copytree(derived[0] / "data", data)
    loaded = warehouse_snapshot(data)
    (data / "warehouse.duckdb").unlink()
    shutil.rmtree(data / "raw" / "_checks", ignore_errors=True)
    env = sandbox_env(server, tmp_path)

    result = run_cli("rebuild", env={**env, "AUGMENT_API_TOKEN": ""})

    assert result.exit_code == 0, result.output
    edge = [d for d in FINAL if d.month == START.month] if START.day > 1 else []
    rebuilt = warehouse_snapshot(data)
    for table in ("fct_dau_users", "fct_user_activity"):
        assert rebuilt[table] == [row for row in loaded[table] if row[0] not in edge]
    if edge:
        assert f"{len(edge)} days" in result.output
    assert backfill(server, tmp_path) == (1 if edge else 0)  # user-activity over the edge month's part
    assert warehouse_snapshot(data) == loaded


def whole_month() -> tuple[dt.date, dt.date]:
    """The month before last: whole, and final whatever today is."""
    end = month_start(month_start(TODAY) - dt.timedelta(days=1)) - dt.timedelta(days=1)
    return month_start(end), end


def backfill_in_process(
    server: SandboxServer, tmp_path: Path, start: dt.date, end: dt.date, instance: dg.DagsterInstance
) -> BackfillOutcome:
    """The scheduler itself over ``start..end`` into ``tmp_path``, deriving, with no way to ask a check's
    answer (a whole month needs none)."""
    env = {
        "AUGMENT_API_TOKEN": SANDBOX_TOKEN,
        "AUGMENT_API_BASE_URL": server.url,
        "ANALYTICS_DATA_DIR": str(tmp_path),
        "AUGMENT_API_REQUESTS_PER_MINUTE": str(TEST_REQUESTS_PER_MINUTE),
        "AUGMENT_API_BURST": str(TEST_BURST),
    }
    settings = Settings.from_env(env, env_file=tmp_path / "no.env", today=TODAY)
    return run_backfill(
        build_definitions(settings, api=api_resource(settings)),
        Warehouse(tmp_path / "warehouse.duckdb"),
        RawStore(tmp_path / "raw"),
        start,
        end,
        instance=instance,
        today=lambda: TODAY,
        derive=True,
    )


def test_the_fact_assets_say_which_days_were_derived(
    server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each derived day's fct_dau_users and fct_user_activity partitions are materialized with source
    "derived"; the raw assets of dau and user-activity have nothing for them; editor-language's facts
    say "api"."""
    monkeypatch.setenv("AUGMENT_API_TOKEN", SANDBOX_TOKEN)  # read as a run starts, as in production
    start, end = whole_month()
    names = OrgNames()
    (tmp_path / "dagster").mkdir()
    with dg.DagsterInstance.local_temp(str(tmp_path / "dagster")) as instance:  # runs keep their events
        outcome = backfill_in_process(server, tmp_path, start, end, instance)
        assert outcome.derivation.derived == len(days_between(start, end))
        for day in (start, end):
            key = day.isoformat()
            for asset in (names.fact(DAU), names.fact(USER_ACTIVITY)):
                assert latest_metadata(instance, asset, key)["source"].value == "derived"
            assert latest_metadata(instance, names.fact(EDITOR_LANGUAGE), key)["source"].value == "api"
            assert latest_metadata(instance, names.raw(DAU), key) is None


def test_the_monthly_check_refuses_a_month_whose_members_do_not_add_up(
    server: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One message moved from one member to another in a day's editor-language rows: dau-count and
    daily-usage still agree, but the month's per-member sums do not, so no day of the month is kept."""
    monkeypatch.setenv("AUGMENT_API_TOKEN", SANDBOX_TOKEN)
    start, end = whole_month()
    with dg.DagsterInstance.ephemeral() as instance:
        backfill_in_process(server, tmp_path, start, end, instance)
    days = days_between(start, end)
    warehouse = Warehouse(tmp_path / "warehouse.duckdb")
    with warehouse.writer(memory_limit=DERIVE_MEMORY_LIMIT) as con:
        con.execute("delete from fct_dau_users; delete from fct_user_activity")
        con.execute("delete from pipeline_partitions where endpoint in ('dau', 'user_activity')")
        rows = con.execute(
            "select date, user_key, language, editor from fct_editor_language_activity "
            "where total_messages > 0 and date = ? order by user_key limit 2 offset 0",
            [start],
        ).fetchall()
        assert len({row[1] for row in rows}) == 2  # two members' rows of one day
        move(con, rows, 1)
        verdict = derive_days(con, days, span=(start, end), answers={}, organization=DEFAULT_ORGANIZATION)
    assert (verdict.accepted, verdict.unready, verdict.waiting, verdict.need_answers) == (
        set(),
        set(),
        set(),
        {},
    )
    assert verdict.failed == set(days)
    with warehouse.writer(memory_limit=DERIVE_MEMORY_LIMIT) as con:  # as the API sent them: every day kept
        move(con, rows, -1)
        verdict = derive_days(con, days, span=(start, end), answers={}, organization=DEFAULT_ORGANIZATION)
    assert verdict.accepted == set(days)


def move(con: duckdb.DuckDBPyConnection, rows: list[tuple], messages: int) -> None:
    """``messages`` of total_messages moved from the first row's member to the second's (same day)."""
    sql = (
        "update fct_editor_language_activity set total_messages = total_messages + ? "
        "where date = ? and user_key = ? and language = ? and editor = ?"
    )
    con.execute(sql, [-messages, *rows[0]])
    con.execute(sql, [messages, *rows[1]])


def latest_metadata(
    instance: dg.DagsterInstance, asset: dg.AssetKey, partition: str
) -> dict[str, dg.MetadataValue] | None:
    """The metadata of the partition's latest materialization (None: never materialized)."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset, asset_partitions=[partition]), limit=1
    ).records
    if not records:
        return None
    materialization = records[0].asset_materialization
    assert materialization is not None
    return dict(materialization.metadata)


def test_the_nightly_recheck_leaves_a_derived_final_day_derived(
    server: SandboxServer, derived: tuple[Path, int], tmp_path: Path
) -> None:
    """The day turning final this morning was derived; the nightly re-check finds its range endpoints
    unchanged, so its dau and user-activity stand as derived, with no per-day request for it."""
    data = tmp_path / "data"
    shutil.copytree(derived[0] / "data", data)
    oldest_rechecked = yesterday(TODAY) - dt.timedelta(days=DEFAULT_RECHECK_DAYS)
    assert oldest_rechecked in FINAL
    before = dict(server.stats.by_path)

    result = run_cli("nightly", env=sandbox_env(server, tmp_path))

    assert result.exit_code == 0, result.output
    sent = {path: n - before.get(path, 0) for path, n in server.stats.by_path.items()}
    assert sent.get("/analytics/v0/dau", 0) == 0
    with warehouse(tmp_path).reader() as con:
        assert sources(con, DAU.name)[oldest_rechecked] == "derived"
        assert sources(con, USER_ACTIVITY.name)[oldest_rechecked] == "derived"
        outcome = con.execute(
            "select outcome from pipeline_rechecks where date = ?", [oldest_rechecked]
        ).fetchall()
    assert outcome == [("unchanged",)]


def test_the_progress_lines_count_a_day_done_once_its_fetches_are_loaded(
    server: SandboxServer, tmp_path: Path
) -> None:
    """Its dau and user-activity are derived at the end: a deriving backfill's progress still counts up."""
    env = sandbox_env(server, tmp_path)
    result = run_cli("backfill", "--start", START.isoformat(), "--end", END.isoformat(), env=env)
    assert result.exit_code == 0, result.output
    counts = [tuple(map(int, m.groups())) for m in re.finditer(r"^\[(\d+)/(\d+) days\]", result.output, re.M)]
    assert counts and counts[-1] == (len(DAYS), len(DAYS)), result.output
