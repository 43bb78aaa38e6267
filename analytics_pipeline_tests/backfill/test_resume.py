"""A backfill interrupted mid-run and resumed ends with the same warehouse as an uninterrupted one."""

import datetime as dt
import itertools
import threading
from pathlib import Path

import dagster as dg
import pytest

from analytics_pipeline.api.endpoints import ASSET_ENDPOINTS, USER_ACTIVITY_MONTHLY
from analytics_pipeline.api.errors import Unauthorized
from analytics_pipeline.backfill.loaded import loaded_days, months_done
from analytics_pipeline.backfill.scheduler import backfill
from analytics_pipeline.backfill.steps import plan_steps
from analytics_pipeline.config.settings import Settings
from analytics_pipeline.dates import days_between, lookback_floor
from analytics_pipeline.defs.build import build_definitions
from analytics_pipeline.landing import Lander, RawStore
from analytics_pipeline.organization import DEFAULT_ORGANIZATION
from analytics_pipeline.sandbox import SandboxRequest, SandboxResponse, SandboxServer
from analytics_pipeline.warehouse import Warehouse, load_partition
from analytics_pipeline_tests.conftest import (
    SANDBOX_TOKEN,
    TEST_BURST,
    TEST_REQUESTS_PER_MINUTE,
    Pipeline,
    warehouse_snapshot,
)
from analytics_pipeline_tests.fakes import FakeClient

D = dt.date


def test_steps_put_coarse_history_first_then_detail_newest_first() -> None:
    days = days_between(D(2026, 1, 1), D(2026, 6, 30))  # 181 days
    steps = plan_steps(days, loaded=set(), months_current=set())
    assert [(s.phase, s.start, s.end) for s in steps[:6]] == [
        ("coarse", D(2026, 1, 2), D(2026, 6, 30)),  # whole 90-day windows, anchored at the newest day
        ("coarse", D(2026, 1, 1), D(2026, 1, 1)),
        ("credit", D(2026, 4, 2), D(2026, 6, 30)),
        ("detail", D(2026, 6, 1), D(2026, 6, 30)),
        ("detail", D(2026, 5, 2), D(2026, 5, 31)),
        ("detail", D(2026, 4, 2), D(2026, 5, 1)),
    ]
    assert sum(s.days for s in steps if s.phase == "detail") == len(days)
    assert sum(s.days for s in steps if s.phase == "credit") == len(days)
    assert all(s.days <= 90 for s in steps if s.phase == "credit")


def test_steps_leave_out_what_is_loaded() -> None:
    days = days_between(D(2026, 3, 1), D(2026, 3, 10))
    loaded = {(e.name, d) for e in ASSET_ENDPOINTS for d in days if d <= D(2026, 3, 7)}
    steps = plan_steps(days, loaded, months_current={D(2026, 3, 1)})
    assert [(s.phase, s.start, s.end) for s in steps] == [
        ("coarse", D(2026, 3, 8), D(2026, 3, 10)),
        ("credit", D(2026, 3, 8), D(2026, 3, 10)),
        ("detail", D(2026, 3, 8), D(2026, 3, 10)),
    ]
    assert plan_steps(days, {(e.name, d) for e in ASSET_ENDPOINTS for d in days}, {D(2026, 3, 1)}) == []


def test_a_month_is_done_only_when_the_warehouse_holds_it_as_landed(tmp_path: Path) -> None:
    store, warehouse = RawStore(tmp_path / "raw"), Warehouse(tmp_path / "warehouse.duckdb")
    october, november, today = D(2026, 10, 1), D(2026, 11, 1), D(2026, 11, 20)
    lander = Lander(FakeClient(page_size=100), store, today=lambda: today)
    lander.land(USER_ACTIVITY_MONTHLY, [october, november])
    with warehouse.writer():
        pass
    assert (
        months_done(warehouse, store, [october, november], today, organization=DEFAULT_ORGANIZATION) == set()
    )  # landed, not loaded
    with warehouse.writer() as con:
        for month in (october, november):
            load_partition(con, store, USER_ACTIVITY_MONTHLY, month, organization=DEFAULT_ORGANIZATION)
    assert months_done(warehouse, store, [october, november], today, organization=DEFAULT_ORGANIZATION) == {
        october,
        november,
    }
    # A day later November is landed again, one day longer, and the process is killed before its load.
    tomorrow = today + dt.timedelta(days=1)
    Lander(FakeClient(page_size=100), store, today=lambda: tomorrow).land(USER_ACTIVITY_MONTHLY, [november])
    assert months_done(
        warehouse, store, [october, november], tomorrow, organization=DEFAULT_ORGANIZATION
    ) == {october}


class FailAfter:
    """Answers 401 (never retried) from the n-th request on: a backfill stopped mid-run."""

    def __init__(self, n: int) -> None:
        self.counter = itertools.count(1)
        self.n = n
        self.lock = threading.Lock()

    def __call__(self, request: SandboxRequest, response: SandboxResponse) -> SandboxResponse:
        with self.lock:
            if next(self.counter) >= self.n:
                return SandboxResponse.error(401, "Unauthenticated", "stopped by the test")
        return response


def _backfill(pipeline: Pipeline, data_dir: Path, start: dt.date, end: dt.date) -> None:
    env = {**pipeline.env, "ANALYTICS_DATA_DIR": str(data_dir)}
    defs = build_definitions(Settings.from_env(env, env_file=data_dir / "no.env"))
    backfill(
        defs,
        Warehouse(data_dir / "warehouse.duckdb"),
        RawStore(data_dir / "raw"),
        start,
        end,
        instance=dg.DagsterInstance.ephemeral(),
    )


@pytest.mark.parametrize("stop_at", [3, 12, 30])
def test_interrupted_backfill_resumes_to_the_same_warehouse(
    pipeline: Pipeline, sandbox: SandboxServer, tmp_path: Path, stop_at: int
) -> None:
    end = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    start = end - dt.timedelta(days=9)
    _backfill(pipeline, tmp_path / "straight", start, end)

    sandbox.before_response = FailAfter(stop_at)
    try:
        with pytest.raises(Unauthorized, match="stopped by the test"):
            _backfill(pipeline, tmp_path / "resumed", start, end)
    finally:
        sandbox.before_response = None
    sandbox.stats.reset()
    _backfill(pipeline, tmp_path / "resumed", start, end)
    resumed_requests = sandbox.stats.total

    assert warehouse_snapshot(tmp_path / "resumed") == warehouse_snapshot(tmp_path / "straight")
    sandbox.stats.reset()
    _backfill(pipeline, tmp_path / "resumed", start, end)
    assert sandbox.stats.total == 0 < resumed_requests
    leftovers = [p for p in (tmp_path / "resumed" / "raw").rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []


# ------------------------------------------------------------------ the API's clock a day ahead


def test_a_backfill_from_our_lookback_floor_skips_the_day_the_api_no_longer_serves(
    api_a_day_ahead: tuple[SandboxServer, dt.date], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, today = api_a_day_ahead
    floor = lookback_floor(today)
    env = {
        "AUGMENT_API_TOKEN": SANDBOX_TOKEN,
        "AUGMENT_API_BASE_URL": server.url,
        "ANALYTICS_DATA_DIR": str(tmp_path / "data"),
        "AUGMENT_API_REQUESTS_PER_MINUTE": str(TEST_REQUESTS_PER_MINUTE),
        "AUGMENT_API_BURST": str(TEST_BURST),
    }
    monkeypatch.setenv("AUGMENT_API_TOKEN", SANDBOX_TOKEN)
    settings = Settings.from_env(env, env_file=tmp_path / "no.env", today=today)
    warehouse = Warehouse(settings.data_dir / "warehouse.duckdb")
    start, end = floor, floor + dt.timedelta(days=3)
    for _ in range(2):  # a re-run neither fails nor asks for the day again
        outcome = backfill(
            build_definitions(settings),
            warehouse,
            RawStore(settings.data_dir / "raw"),
            start,
            end,
            instance=dg.DagsterInstance.ephemeral(),
            today=lambda: today,
        )
        assert outcome.days_expired == 1
        assert loaded_days(warehouse, start, end, organization=DEFAULT_ORGANIZATION) == set(
            days_between(start + dt.timedelta(days=1), end)
        )
    assert server.stats.by_status.get(400, 0) == 0
