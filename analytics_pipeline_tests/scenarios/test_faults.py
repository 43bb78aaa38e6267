"""The sandbox's fault injection: each kind does what it says, from the seed alone, at its rate."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator

import httpx
import pytest

from analytics_pipeline.api import endpoints as ep
from analytics_pipeline.sandbox import (
    Fault,
    FaultInjector,
    FaultKind,
    FaultPlan,
    SandboxRequest,
    SandboxResponse,
    SandboxServer,
    SyntheticOrg,
)
from analytics_pipeline_tests.conftest import assert_one_line_error, run_cli

TODAY = dt.date(2026, 3, 2)
TOKEN = "sandbox-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
DAILY = SandboxRequest("GET", ep.DAILY_USAGE.path, {})
TRANSIENT = ("error", "drop", "slow", "truncate")


def fault(plan: FaultPlan, n: int) -> Fault:
    """The fault of request number ``n``, which the test knows there is."""
    decided = plan.decide(n)
    assert decided is not None
    return decided


def ok(payload: object | None = None) -> SandboxResponse:
    return SandboxResponse.json(200, payload if payload is not None else {"daily_usage": [], "metadata": {}})


@pytest.fixture(scope="module")
def small_org() -> SyntheticOrg:
    return SyntheticOrg(seed=3, people=12, service_accounts=1)


Serve = Callable[..., SandboxServer]


@pytest.fixture
def serve(small_org: SyntheticOrg) -> Iterator[Serve]:
    """Start a sandbox with a fault plan (fixed today, no rate limit); stopped after the test."""
    servers: list[SandboxServer] = []

    def start(plan: FaultPlan) -> SandboxServer:
        injector = FaultInjector(plan)
        server = SandboxServer(small_org, today=TODAY, requests_per_minute=None, faults=injector).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


# ---------------------------------------------------------------------------------------------- the plan


def test_the_sequence_of_faults_is_a_pure_function_of_the_seed() -> None:
    plan = FaultPlan(seed=4, error_rate=0.1, drop_rate=0.1, slow_rate=0.1, truncate_rate=0.1, storm_every=9)
    again = FaultPlan(seed=4, error_rate=0.1, drop_rate=0.1, slow_rate=0.1, truncate_rate=0.1, storm_every=9)
    other = FaultPlan(seed=5, error_rate=0.1, drop_rate=0.1, slow_rate=0.1, truncate_rate=0.1, storm_every=9)
    sequence = [plan.decide(n) for n in range(500)]
    assert sequence == [again.decide(n) for n in range(500)]
    assert sequence != [other.decide(n) for n in range(500)]
    assert {f.kind for f in sequence if f} == {"error", "drop", "slow", "truncate", "storm"}


def test_rates_come_out_roughly_as_asked() -> None:
    plan = FaultPlan(seed=1, error_rate=0.1, drop_rate=0.05, slow_rate=0.02, truncate_rate=0.2)
    n = 40_000
    faults = [plan.decide(i) for i in range(n)]
    kinds = Counter(f.kind if f else None for f in faults)
    for kind, rate in (("error", 0.1), ("drop", 0.05), ("slow", 0.02), ("truncate", 0.2)):
        assert kinds[kind] == pytest.approx(rate * n, rel=0.1), kind
    statuses = Counter(f.status for f in faults if f and f.kind == "error")
    assert set(statuses) == {500, 502, 503}
    assert all(count == pytest.approx(kinds["error"] / 3, rel=0.1) for count in statuses.values())
    declared = sum(1 for f in faults if f and f.kind == "truncate" and f.declares_full_length)
    assert declared == pytest.approx(kinds["truncate"] / 2, rel=0.1)


def test_storms_come_every_n_requests_and_alternate_retry_after() -> None:
    plan = FaultPlan(storm_every=10, storm_length=3, storm_retry_after_seconds=2)
    storms = [n for n in range(50) if (f := plan.decide(n)) and f.kind == "storm"]
    assert storms == [10, 11, 12, 20, 21, 22, 30, 31, 32, 40, 41, 42]
    retry_afters = [fault(plan, n).retry_after for n in (10, 20, 30, 40)]
    assert retry_afters == [2, None, 2, None]
    assert all(fault(plan, n).status == 429 for n in storms)
    always = FaultPlan(storm_every=10, storm_length=1, storm_retry_after="always")
    never = FaultPlan(storm_every=10, storm_length=1, storm_retry_after="never")
    assert [fault(always, n).retry_after for n in (10, 20)] == [1.0, 1.0]
    assert [fault(never, n).retry_after for n in (10, 20)] == [None, None]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"error_rate": 1.5}, "error_rate must be between 0 and 1"),
        ({"error_rate": 0.6, "drop_rate": 0.6}, "add up to more than 1"),
        ({"storm_every": 3, "storm_length": 3}, "storm_length (3) must be shorter than storm_every (3)"),
        ({"penalty_seconds": 2.0}, "penalty_seconds needs storms"),
        ({"slow_seconds": 0}, "slow_seconds must be a positive"),
        ({"drift_drop_field": "metrics."}, "drift_drop_field must be a field name"),
        ({"storm_retry_after": "sometimes"}, "storm_retry_after must be one of"),
    ],
)
def test_a_plan_that_makes_no_sense_is_refused(options: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        FaultPlan(**options)  # type: ignore[arg-type]


def test_the_default_plan_injects_nothing() -> None:
    plan = FaultPlan()
    assert not plan.active
    injector = FaultInjector(plan)
    response = ok()
    assert all(injector(DAILY, response) is response for _ in range(100))
    assert sum(injector.counts.values()) == 0


# ---------------------------------------------------------------------------------------------- the injector


def test_faults_do_not_depend_on_thread_timing() -> None:
    plan = FaultPlan(seed=8, error_rate=0.2, drop_rate=0.1, truncate_rate=0.1, storm_every=7, storm_length=2)
    injector = FaultInjector(plan)

    def hammer() -> None:
        for _ in range(250):
            injector(DAILY, ok())

    threads = [threading.Thread(target=hammer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = Counter(f.kind for n in range(2000) if (f := plan.decide(n)))
    assert injector.requests == 2000
    assert {k: v for k, v in injector.counts.items() if v} == dict(expected)


def test_only_successful_responses_are_touched_and_take_a_number() -> None:
    injector = FaultInjector(FaultPlan(error_rate=1.0))
    refused = SandboxResponse.error(401, "Unauthenticated", "invalid API token")
    limited = SandboxResponse.error(429, "ResourceExhausted", "rate limit exceeded")
    assert injector(DAILY, refused) is refused and injector(DAILY, limited) is limited
    assert injector.requests == 0
    assert injector(DAILY, ok()).status in (500, 502, 503)
    assert injector.requests == 1


def test_each_kind_shapes_the_response_as_it_says() -> None:
    body = json.dumps({"daily_usage": [{"date": "2026-03-01", "metrics": {"chat_messages": 5}}]}).encode()
    original = SandboxResponse(200, body, {"Content-Type": "application/json"})
    seen: dict[str, list[SandboxResponse]] = {}
    plan = FaultPlan(seed=2, error_rate=0.2, drop_rate=0.2, slow_rate=0.2, slow_seconds=4, truncate_rate=0.2)
    injector = FaultInjector(plan)
    for _ in range(200):
        response = injector(DAILY, original)
        seen.setdefault(response.fault or "none", []).append(response)
    assert set(seen) == {"none", *TRANSIENT}
    assert all(r is original for r in seen["none"])
    for r in seen["error"]:
        assert r.status in (500, 502, 503) and json.loads(r.body)["error"]["message"].startswith("injected")
    assert all(r.drop_connection for r in seen["drop"])
    assert all(r.delay == 4 and r.body == body and r.status == 200 for r in seen["slow"])
    for r in seen["truncate"]:
        assert r.status == 200 and 0 < len(r.body) < len(body) and body.startswith(r.body)
        with pytest.raises(ValueError):
            json.loads(r.body)
    declared = {r.headers.get("Content-Length") for r in seen["truncate"]}
    assert declared == {None, str(len(body))}  # honest (the handler counts) and full-length claims


def test_a_storm_opens_a_penalty_window_that_takes_no_number() -> None:
    now = [100.0]
    plan = FaultPlan(storm_every=4, storm_length=1, penalty_seconds=5, storm_retry_after="always")
    injector = FaultInjector(plan, clock=lambda: now[0])
    assert [injector(DAILY, ok()).status for _ in range(4)] == [200, 200, 200, 200]
    storm = injector(DAILY, ok())  # number 4: the storm, which opens the window
    assert storm.status == 429 and storm.fault == "storm" and storm.headers["Retry-After"] == "1"
    now[0] += 2.0
    penalty = injector(DAILY, ok())
    assert penalty.status == 429 and penalty.fault == "penalty" and penalty.headers["Retry-After"] == "3"
    now[0] += 2.5
    assert injector(DAILY, ok()).headers["Retry-After"] == "0.5"
    assert injector.requests == 5  # the window's answers took no number
    now[0] += 0.5
    assert injector(DAILY, ok()).status == 200  # number 5
    assert injector.counts[FaultKind.STORM] == 1 and injector.counts[FaultKind.PENALTY] == 2


def test_a_storm_without_retry_after_opens_a_window_without_it() -> None:
    now = [0.0]
    plan = FaultPlan(storm_every=2, storm_length=1, penalty_seconds=5, storm_retry_after="never")
    injector = FaultInjector(plan, clock=lambda: now[0])
    answers = [injector(DAILY, ok()) for _ in range(4)]
    assert [a.status for a in answers] == [200, 200, 429, 429]
    assert [a.fault for a in answers[2:]] == ["storm", "penalty"]
    assert all("Retry-After" not in a.headers for a in answers)


# ---------------------------------------------------------------------------------------------- drift


def test_drift_adds_and_drops_fields_per_record_deterministically(small_org: SyntheticOrg) -> None:
    plan = FaultPlan(
        seed=6,
        drift_add_field="metrics.background_agent_messages",
        drift_drop_field="metrics.completions_suggested_lines_of_code",
        drift_rate=0.5,
    )
    records = small_org.user_activity(dt.date(2026, 2, 1), dt.date(2026, 2, 28))
    clean = json.loads(json.dumps(records))
    request = SandboxRequest("GET", ep.USER_ACTIVITY.path, {})
    payload = {"users": records, "metadata": {}}
    first = json.loads(FaultInjector(plan)(request, SandboxResponse.json(200, payload)).body)["users"]
    again = json.loads(FaultInjector(plan)(request, SandboxResponse.json(200, payload)).body)["users"]
    assert first == again
    assert records == clean  # the org's (cached) records are never changed in place
    drifted = [r for r in first if "background_agent_messages" in r["metrics"]]
    assert 0.3 * len(first) < len(drifted) < 0.7 * len(first)
    for before, after in zip(clean, first, strict=True):
        if plan.drifted(before):
            assert "completions_suggested_lines_of_code" not in after["metrics"]
            assert isinstance(after["metrics"]["background_agent_messages"], int)
            del after["metrics"]["background_agent_messages"]
            before["metrics"].pop("completions_suggested_lines_of_code", None)
        assert after == before


def test_a_nested_field_is_only_added_where_its_parent_exists() -> None:
    plan = FaultPlan(drift_add_field="metrics.new_metric")
    assert plan.drift({"user_email": "a@x.test"}) is None  # dau records have no metrics
    nested = plan.drift({"metrics": {}})
    assert nested is not None and nested["metrics"].keys() == {"new_metric"}
    top = FaultPlan(drift_add_field="region")
    added = top.drift({"user_email": "a@x.test"})
    assert added is not None and added.keys() == {"user_email", "region"}


def test_drift_is_counted_per_record_and_is_not_a_transient_fault() -> None:
    injector = FaultInjector(FaultPlan(drift_add_field="region"))
    records = [{"date": f"2026-02-0{i}", "metrics": {}} for i in range(1, 5)]
    response = injector(DAILY, ok({"daily_usage": records, "metadata": {}}))
    assert response.fault is None and response.status == 200
    assert all("region" in r for r in json.loads(response.body)["daily_usage"])
    assert injector.counts[FaultKind.DRIFT] == 4


# ---------------------------------------------------------------------------------------------- on the wire


def _get(server: SandboxServer, timeout: float = 2.0) -> httpx.Response:
    with httpx.Client(base_url=server.url, timeout=timeout) as http:
        return http.get(ep.DAILY_USAGE.path, headers=AUTH)


def test_a_dropped_connection_sends_nothing(serve: Serve) -> None:
    server = serve(FaultPlan(drop_rate=1.0))
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        _get(server)
    assert server.stats.snapshot() == {
        "total": 1,
        "by_path": {ep.DAILY_USAGE.path: 1},
        "by_status": {},
        "faults": {"drop": 1},
    }


def test_a_slow_response_outlasts_a_shorter_client_timeout(serve: Serve) -> None:
    server = serve(FaultPlan(slow_rate=1.0, slow_seconds=0.6))
    with pytest.raises(httpx.ReadTimeout):
        _get(server, timeout=0.2)
    server.faults = FaultInjector(FaultPlan(slow_rate=1.0, slow_seconds=0.1))
    assert _get(server, timeout=5.0).status_code == 200  # slow, but within the timeout: answered


def test_a_truncated_body_is_cut_json_or_a_short_read(serve: Serve) -> None:
    plan = FaultPlan(seed=0, truncate_rate=1.0)
    honest = next(n for n in range(50) if not fault(plan, n).declares_full_length)
    short = next(n for n in range(50) if fault(plan, n).declares_full_length)
    server = serve(plan)
    outcomes: dict[int, str] = {}
    for n in range(max(honest, short) + 1):
        try:
            response = _get(server)
            json.loads(response.content)
            outcomes[n] = "json"
        except ValueError:
            assert response.status_code == 200
            outcomes[n] = "invalid json"
        except httpx.RemoteProtocolError:
            outcomes[n] = "short read"
    assert outcomes[honest] == "invalid json" and outcomes[short] == "short read"
    assert "json" not in outcomes.values()


def test_injected_429s_are_not_the_rate_limiters(small_org: SyntheticOrg) -> None:
    plan = FaultPlan(storm_every=2, storm_length=1, storm_retry_after="always")
    with SandboxServer(
        small_org, today=TODAY, requests_per_minute=1, burst=4, clock=lambda: 0.0, faults=FaultInjector(plan)
    ) as server:
        statuses = [_get(server).status_code for _ in range(6)]
    # numbers 0, 1 pass, 2 is a storm, 3 passes; then the limiter's bucket of four is empty
    assert statuses == [200, 200, 429, 200, 429, 429]
    assert server.stats.by_status == {200: 3, 429: 3}
    assert server.stats.rate_limited == 2
    assert server.stats.faults == {"storm": 1}


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        (["--storm-every", "3", "--storm-length", "3"], "--storm-length (3) must be shorter"),
        (["--penalty-seconds", "2"], "--penalty-seconds needs storms"),
        (["--error-rate", "0.7", "--drop-rate", "0.7"], "add up to more than 1"),
        (["--drift-drop-field", "metrics..x"], "--drift-drop-field must be a field name"),
    ],
)
def test_the_sandbox_command_refuses_a_plan_that_makes_no_sense(options: list[str], fragment: str) -> None:
    assert_one_line_error(run_cli("sandbox", "--port", "0", *options), fragment)
