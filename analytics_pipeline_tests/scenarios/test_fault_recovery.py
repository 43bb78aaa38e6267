"""The client and the landing against a faulty sandbox on loopback: every fault is classified and
retried within the budget; what keeps failing fails its partition cleanly, and a re-run completes it."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from analytics_pipeline.api import (
    AnalyticsClient,
    ApiError,
    MalformedResponse,
    RateLimited,
    RetryPolicy,
    ServerError,
    TransportError,
)
from analytics_pipeline.api import endpoints as ep
from analytics_pipeline.dates import days_between
from analytics_pipeline.landing import Lander, RawStore
from analytics_pipeline.privacy.secret import Secret
from analytics_pipeline.sandbox import (
    FaultInjector,
    FaultPlan,
    SandboxRequest,
    SandboxResponse,
    SandboxServer,
    SyntheticOrg,
)
from analytics_pipeline.sandbox.faults import RetryAfterMode

TODAY = dt.date(2026, 3, 2)
DAY = dt.date(2026, 2, 25)  # a Wednesday: a busy day
WEEK = (dt.date(2026, 2, 23), dt.date(2026, 3, 1))
TOKEN = "sandbox-token"
RATE_FIELD = {"error": "error_rate", "drop": "drop_rate", "slow": "slow_rate", "truncate": "truncate_rate"}
SLOW_SECONDS = 1.2
SHORT_TIMEOUT = 0.5
"""The client's read timeout where slow responses are injected: past a small loopback answer, short of
a slow one. Elsewhere the timeout is long: the first request for 90 days of credits takes a while."""


@pytest.fixture(scope="module")
def org() -> SyntheticOrg:
    # 260 people: an editor-language day spans three or more pages of 100, 90 days of credits many of 500.
    return SyntheticOrg(seed=21, people=260, service_accounts=2)


@pytest.fixture
def server(org: SyntheticOrg) -> Iterator[SandboxServer]:
    """A sandbox of its own (faults never leak into other tests), with no rate limit."""
    with SandboxServer(org, today=TODAY, requests_per_minute=None) as sandbox:
        yield sandbox


@pytest.fixture
def small_server() -> Iterator[SandboxServer]:
    """The same for 40 people: several pages of 500 credit records over 90 days, quick to generate."""
    with SandboxServer(SyntheticOrg(seed=21, people=40), today=TODAY, requests_per_minute=None) as sandbox:
        yield sandbox


class Clock:
    """A fake clock that the client's retry waits advance: penalty windows pass without sleeping."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make_client(
    server: SandboxServer,
    clock: Clock,
    *,
    max_attempts: int = 4,
    base_delay: float = 0.01,
    max_delay: float = 0.05,
    budget: float = 300.0,
    timeout: float = 10.0,
) -> AnalyticsClient:
    retry = RetryPolicy(
        max_attempts=max_attempts,
        base_delay=base_delay,
        max_delay=max_delay,
        budget_seconds=budget,
        rng=random.Random(3),
    )
    return AnalyticsClient(
        server.url, Secret(TOKEN), retry=retry, timeout=timeout, today=lambda: TODAY, sleep=clock.sleep
    )


def inject(server: SandboxServer, plan: FaultPlan, clock: Clock | None = None) -> FaultInjector:
    injector = FaultInjector(plan, clock=clock) if clock is not None else FaultInjector(plan)
    server.faults = injector
    return injector


def first_seed(make: Callable[[int], FaultPlan], wanted: Callable[[FaultPlan], bool]) -> FaultPlan:
    """The plan of the first seed whose (pure) decisions are the ones a test needs."""
    return next(plan for plan in map(make, range(1_000)) if wanted(plan))


# ---------------------------------------------------------------------------------------------- the client


@pytest.mark.parametrize("kind", list(RATE_FIELD))
def test_each_transient_fault_is_retried_to_the_clean_answer(
    server: SandboxServer, org: SyntheticOrg, kind: str
) -> None:
    def make(seed: int) -> FaultPlan:
        return FaultPlan(seed=seed, slow_seconds=SLOW_SECONDS, **{RATE_FIELD[kind]: 0.5})

    # two faults, then an answer: three attempts, whatever the kind
    plan = first_seed(make, lambda p: bool(p.decide(0) and p.decide(1)) and p.decide(2) is None)
    injector = inject(server, plan)
    clock = Clock()
    with make_client(server, clock, timeout=SHORT_TIMEOUT) as client:
        records = client.daily_usage(*WEEK)
    assert records == org.daily_usage(*WEEK)
    assert client.requests_sent == 3 and len(clock.sleeps) == 2
    assert injector.counts[kind] == 2


def _truncate(full_length: bool) -> Callable[[FaultPlan], bool]:
    return lambda plan: (first := plan.decide(0)) is not None and first.declares_full_length is full_length


@pytest.mark.parametrize(
    ("kind", "wanted", "error", "fragment"),
    [
        ("error", lambda plan: True, ServerError, "injected fault"),
        ("drop", lambda plan: True, TransportError, "RemoteProtocolError"),
        ("slow", lambda plan: True, TransportError, "ReadTimeout"),
        ("truncate", _truncate(False), MalformedResponse, "not valid JSON"),
        ("truncate", _truncate(True), TransportError, "RemoteProtocolError"),
    ],
    ids=["error", "drop", "slow", "truncated-json", "short-read"],
)
def test_a_fault_that_persists_is_raised_as_its_class_naming_endpoint_and_attempts(
    server: SandboxServer,
    kind: str,
    wanted: Callable[[FaultPlan], bool],
    error: type[ApiError],
    fragment: str,
) -> None:
    plan = first_seed(
        lambda seed: FaultPlan(seed=seed, slow_seconds=SLOW_SECONDS, **{RATE_FIELD[kind]: 1.0}), wanted
    )
    inject(server, plan)
    clock = Clock()
    with make_client(server, clock, max_attempts=1, timeout=SHORT_TIMEOUT) as client:
        with pytest.raises(error) as info:
            client.daily_usage(*WEEK)
    assert type(info.value) is error and info.value.retryable
    assert str(info.value).startswith("daily_usage: ") and fragment in str(info.value)
    assert "gave up after 1 attempt over 0.0s of retries" in str(info.value)
    assert TOKEN not in str(info.value)


def test_a_storm_honours_retry_after_when_sent_and_backs_off_when_not(server: SandboxServer) -> None:
    # storms at request numbers 3, 4 (with Retry-After: 2) and 6, 7 (without)
    plan = FaultPlan(storm_every=3, storm_length=2, storm_retry_after_seconds=2)
    injector = inject(server, plan)
    clock = Clock()
    with make_client(server, clock) as client:
        for _ in range(3):
            client.dau_count(*WEEK)
        assert clock.sleeps == []
        client.dau_count(*WEEK)  # numbers 3, 4: the storm with Retry-After; 5 answers
        assert clock.sleeps == [2.0, 2.0] and client.requests_sent == 6
        client.dau_count(*WEEK)  # numbers 6, 7: the storm without; 8 answers
        assert len(clock.sleeps) == 4 and all(s <= 0.05 for s in clock.sleeps[2:])  # the backoff's cap
    assert injector.counts["storm"] == 4 and server.stats.rate_limited == 0


@pytest.mark.parametrize("retry_after", ["always", "never"])
def test_a_penalty_window_is_waited_out(server: SandboxServer, retry_after: RetryAfterMode) -> None:
    clock = Clock()
    plan = FaultPlan(storm_every=3, storm_length=1, penalty_seconds=5, storm_retry_after=retry_after)
    injector = inject(server, plan, clock)
    with make_client(server, clock, max_attempts=10, base_delay=0.5, max_delay=4) as client:
        for _ in range(3):
            client.dau_count(*WEEK)
        assert client.dau_count(*WEEK)  # request number 3 starts the storm and its window
    penalties = injector.counts["penalty"]
    assert penalties >= 1 and len(clock.sleeps) == 1 + penalties
    if retry_after == "always":
        assert clock.sleeps == [1.0, 4.0]  # the storm's Retry-After, then what was left of the window
    assert sum(clock.sleeps[:-1]) < 5 <= sum(clock.sleeps)  # every retry inside the window got a 429


def test_a_wait_past_the_retry_budget_gives_up_at_once(server: SandboxServer) -> None:
    inject(server, FaultPlan(storm_every=2, storm_length=1, storm_retry_after_seconds=600))
    clock = Clock()
    with make_client(server, clock, budget=300) as client:
        client.dau_count(*WEEK)
        client.dau_count(*WEEK)
        with pytest.raises(RateLimited) as info:
            client.dau_count(*WEEK)
    assert clock.sleeps == [] and client.requests_sent == 3
    assert info.value.retry_after == 600
    assert "gave up after 1 attempt: waiting 600.0s more would pass the retry budget of 300s" in str(
        info.value
    )


def test_a_page_is_retried_with_its_own_cursor(server: SandboxServer) -> None:
    seen: list[tuple[str | None, str | None]] = []

    def record(request: SandboxRequest, response: SandboxResponse) -> SandboxResponse:
        seen.append((request.query.get("cursor"), response.fault))
        return response

    server.before_response = record
    clock = Clock()
    with make_client(server, clock) as client:
        clean = [page.records for page in client.daily_user_activity_by_editor_language(DAY)]
    clean_cursors = [cursor for cursor, _ in seen]
    assert len(clean) >= 3
    seen.clear()
    inject(server, FaultPlan(seed=2, error_rate=0.2, drop_rate=0.15, truncate_rate=0.2))
    with make_client(server, clock, max_attempts=8) as client:
        faulty = [page.records for page in client.daily_user_activity_by_editor_language(DAY)]
    assert faulty == clean
    retried = [i for i, (_, fault) in enumerate(seen) if fault is not None]
    assert retried, "the seed should fault some pages"
    assert all(seen[i + 1][0] == seen[i][0] for i in retried)  # the retry asked for the same page
    answered = [cursor for cursor, fault in seen if fault is None]
    assert answered == clean_cursors


# ---------------------------------------------------------------------------------------------- landing


class FailPage:
    """Answers 503 to every request for one page (0-based) of each query: a page that keeps failing."""

    def __init__(self, page: int) -> None:
        self.page = page
        self.cursors: dict[tuple[tuple[str, str], ...], list[str]] = {}

    def __call__(self, request: SandboxRequest, response: SandboxResponse) -> SandboxResponse:
        query = tuple(sorted((k, v) for k, v in request.query.items() if k != "cursor"))
        cursors = self.cursors.setdefault((request.path, *query), [])
        cursor = request.query.get("cursor")
        if cursor is not None and cursor not in cursors:
            cursors.append(cursor)
        page = 0 if cursor is None else cursors.index(cursor) + 1
        if page == self.page:
            return SandboxResponse.error(503, "Unavailable", f"page {page} is down")
        return response


def leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".tmp")]


def test_a_day_whose_third_page_keeps_failing_is_not_written_and_a_rerun_completes(
    server: SandboxServer, tmp_path: Path
) -> None:
    endpoint, other_day = ep.EDITOR_LANGUAGE, DAY - dt.timedelta(days=7)
    store = RawStore(tmp_path / "raw")
    clock = Clock()
    with make_client(server, clock) as client:
        landed = Lander(client, store, today=lambda: TODAY).land(endpoint, [DAY])
    assert landed.pages >= 3
    before = store.partition_path(endpoint, DAY).read_bytes()

    server.before_response = FailPage(2)
    for day in (DAY, other_day):
        with make_client(server, clock, max_attempts=3) as client, pytest.raises(ServerError) as info:
            Lander(client, store, today=lambda: TODAY).land(endpoint, [day])
        assert "page 2 is down; gave up after 3 attempts" in str(info.value)
        assert client.requests_sent == 2 + 3  # two good pages, then the third three times
    assert store.partition_path(endpoint, DAY).read_bytes() == before  # the old partition stays
    assert not store.exists(endpoint, other_day)  # and a new one is not half-written
    assert leftovers(store.root) == []

    server.before_response = None
    with make_client(server, clock) as client:
        Lander(client, store, today=lambda: TODAY).land(endpoint, [DAY, other_day], skip_landed=True)
    assert store.read(endpoint, other_day).num_rows > 200
    assert store.partition_path(endpoint, DAY).read_bytes() == before  # skipped: already landed


def test_a_90_day_window_that_fails_on_page_three_writes_none_of_its_days(
    small_server: SandboxServer, tmp_path: Path
) -> None:
    server, endpoint = small_server, ep.CREDIT_USAGE
    days = days_between(TODAY - dt.timedelta(days=90), TODAY - dt.timedelta(days=1))
    store = RawStore(tmp_path / "raw")
    clock = Clock()
    server.before_response = FailPage(2)
    with make_client(server, clock, max_attempts=2) as client, pytest.raises(ServerError):
        Lander(client, store, today=lambda: TODAY).land(endpoint, days)
    assert store.landed_days(endpoint) == [] and leftovers(store.root) == []

    server.before_response = None
    with make_client(server, clock) as client:
        result = Lander(client, store, today=lambda: TODAY).land(endpoint, days, skip_landed=True)
    assert result.pages >= 3
    assert store.landed_days(endpoint) == days


def test_a_malformed_body_is_never_landed(server: SandboxServer, tmp_path: Path) -> None:
    inject(server, FaultPlan(truncate_rate=1.0))
    store = RawStore(tmp_path / "raw")
    with make_client(server, Clock(), max_attempts=3) as client:
        with pytest.raises((MalformedResponse, TransportError)):
            Lander(client, store, today=lambda: TODAY).land(ep.DAILY_USAGE, days_between(*WEEK))
    assert store.landed_days(ep.DAILY_USAGE) == [] and leftovers(store.root) == []


def test_under_every_transient_fault_the_landed_partitions_equal_clean_ones(
    small_server: SandboxServer, tmp_path: Path
) -> None:
    server = small_server
    endpoints = (ep.DAU_COUNT, ep.DAU, ep.USER_ACTIVITY, ep.EDITOR_LANGUAGE, ep.CREDIT_USAGE)
    days = days_between(*WEEK)
    clean, faulty = RawStore(tmp_path / "clean"), RawStore(tmp_path / "faulty")
    with make_client(server, Clock()) as client:
        for endpoint in endpoints:
            Lander(client, clean, today=lambda: TODAY).land(endpoint, days)

    plan = FaultPlan(
        seed=5,
        error_rate=0.08,
        drop_rate=0.06,
        slow_rate=0.04,
        slow_seconds=SLOW_SECONDS,
        truncate_rate=0.08,
        storm_every=13,
        storm_length=2,
        storm_retry_after_seconds=0.05,
    )
    clock = Clock()
    injector = inject(server, plan, clock)
    with make_client(server, clock, max_attempts=8, timeout=SHORT_TIMEOUT) as client:
        for endpoint in endpoints:
            Lander(client, faulty, today=lambda: TODAY).land(endpoint, days)
    assert all(injector.counts[kind] >= 1 for kind in (*RATE_FIELD, "storm")), injector.counts
    for endpoint in endpoints:
        for day in days:
            assert faulty.read(endpoint, day).equals(clean.read(endpoint, day)), (endpoint.name, day)
