"""Years of operation: a deployment set up on a day D runs its nightly job on D, D + 1 year and
D + 2 years + 40 days, against the sandbox, whose "today" moves with the clock (time-machine, ticking).

Each time the code location loads and the nightly run succeeds; the first days loaded, long beyond the
API's 2-year lookback by the end, are still in the warehouse and the raw store, still materialized
partitions of the Dagster instance, and the report marks as missing only days the API still serves.
With ``ANALYTICS_START_DATE`` set on D, and without it (the first partition is then the first day loaded).
"""

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import time_machine

from analytics_pipeline.api.endpoints import DAU
from analytics_pipeline.backfill.in_process import execute_range
from analytics_pipeline.dates import days_between, lookback_floor, utc_today, yesterday
from analytics_pipeline.landing import RawStore
from analytics_pipeline.report.data import Period, report_data
from analytics_pipeline.sandbox import SandboxServer, SyntheticOrg
from analytics_pipeline.warehouse import Warehouse
from analytics_pipeline_tests.conftest import (
    SANDBOX_TOKEN,
    TEST_BURST,
    TEST_REQUESTS_PER_MINUTE,
    run_cli,
    sandbox_env,
)

D = dt.datetime(2027, 3, 10, 2, 30, tzinfo=dt.UTC)
FIRST_DAYS = days_between(D.date() - dt.timedelta(days=7), D.date() - dt.timedelta(days=1))
"""What the deployment loaded on D: a week's backfill (one Dagster run over the range, as the UI launches
it), then its first nightly run."""
LATER = (dt.timedelta(days=366), dt.timedelta(days=2 * 365 + 40))
"""D + 1 year (2028 is a leap year) and D + 2 years + 40 days: by then FIRST_DAYS are beyond reach."""


@pytest.fixture(params=["start-configured", "start-unset"])
def deployment(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clean_environment: None
) -> Iterator[tuple[dict[str, str], SandboxServer, time_machine.Traveller]]:
    """The environment of a deployment set up on D (DAGSTER_HOME: its runs persist), the sandbox, and the
    clock, standing on D."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with time_machine.travel(D, tick=True) as clock:
        with SandboxServer(
            SyntheticOrg(seed=20, people=12, service_accounts=1),
            tokens=(SANDBOX_TOKEN,),
            requests_per_minute=TEST_REQUESTS_PER_MINUTE,
            burst=TEST_BURST,
        ) as server:
            env = {**sandbox_env(server, tmp_path), "DAGSTER_HOME": str(home)}
            if request.param == "start-configured":
                env["ANALYTICS_START_DATE"] = FIRST_DAYS[0].isoformat()  # valid on D: in the lookback
            for name, value in env.items():
                monkeypatch.setenv(name, value)  # the code location reads the process's environment
            yield env, server, clock


def _code_location() -> dg.Definitions:
    """The code location as `dagster dev` loads it."""
    from analytics_pipeline.definitions import defs

    loaded = defs()
    dg.Definitions.validate_loadable(loaded)
    return loaded


def _rows_of_first_days(data_dir: Path) -> int:
    with Warehouse(data_dir / "warehouse.duckdb").reader() as con:
        count = con.execute(
            "select count(*) from fct_dau_users where date between ? and ?", [FIRST_DAYS[0], FIRST_DAYS[-1]]
        ).fetchone()
    assert count is not None
    return int(count[0])


def test_the_pipeline_runs_for_years_and_keeps_what_the_api_forgets(
    deployment: tuple[dict[str, str], SandboxServer, time_machine.Traveller],
) -> None:
    env, server, clock = deployment
    data_dir = Path(env["ANALYTICS_DATA_DIR"])
    with dg.DagsterInstance.get() as instance:
        assert execute_range(_code_location(), FIRST_DAYS[0], FIRST_DAYS[-1], instance).success
    result = run_cli("nightly", env=env)
    assert result.exit_code == 0, result.output
    rows = _rows_of_first_days(data_dir)
    assert rows > 0

    for step in LATER:
        clock.move_to(D + step)
        today = utc_today()
        assert server.today == today
        defs = _code_location()  # loads: a start valid on D stays valid
        partitions = defs.resolve_asset_graph().get(dg.AssetKey("raw_dau")).partitions_def
        assert partitions is not None
        keys = partitions.get_partition_keys()
        # Configured: the start, for good. Unset: the first day loaded, or the lookback's floor while that is
        # earlier (the days the API still serves stay there to backfill).
        configured = "ANALYTICS_START_DATE" in env
        expected = FIRST_DAYS[0] if configured else min(FIRST_DAYS[0], lookback_floor(today))
        assert keys[0] == expected.isoformat() and keys[-1] == yesterday(today).isoformat()
        result = run_cli("nightly", env=env)
        assert result.exit_code == 0, result.output
        assert f"Loaded {yesterday(today)}" in result.output

    floor = lookback_floor(utc_today())
    assert FIRST_DAYS[-1] < floor  # the first week is beyond the API's reach now
    # Still queryable, raw and facts, and still materialized partitions of the instance.
    assert _rows_of_first_days(data_dir) == rows
    store = RawStore(data_dir / "raw")
    assert all(store.landed_info(DAU, day) is not None for day in FIRST_DAYS)
    with dg.DagsterInstance.get() as instance:
        for key in (dg.AssetKey("raw_dau"), dg.AssetKey("fct_dau_users")):
            assert {d.isoformat() for d in FIRST_DAYS} <= instance.get_materialized_partitions(key)
    # The report: the first week loaded, the days never loaded before the floor beyond reach, and only
    # days the API still serves missing.
    with Warehouse(data_dir / "warehouse.duckdb").reader() as con:
        data = report_data(
            con, Period(FIRST_DAYS[0], yesterday(utc_today())), generated_at=dt.datetime.now(dt.UTC)
        )
    states = {day.date: day.state for day in data.days if day.in_period}
    # Loaded (the last of them still provisional: no nightly re-checked it before the clock jumped).
    assert {states[day] for day in FIRST_DAYS} <= {"loaded", "empty", "provisional"}
    assert all(day >= floor for day, state in states.items() if state == "missing")
    # Never loaded: from D (the first nightly ran on it) to the floor, beyond reach; after it, missing.
    beyond = days_between(D.date(), floor - dt.timedelta(days=1))
    assert {day for day, state in states.items() if state == "beyond_reach"} == set(beyond)
    assert data.period.days_beyond_reach == len(beyond) > 0
    assert data.period.days_missing == sum(1 for state in states.values() if state == "missing")
    with duckdb.connect(str(data_dir / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select analysis_reach_floor()").fetchone() == (floor,)
