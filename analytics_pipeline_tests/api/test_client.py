"""The API client against ``httpx.MockTransport``: paging, errors, retries, date rules, secrecy."""

from __future__ import annotations

import datetime as dt
import json
import logging
import random
import socketserver
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from analytics_pipeline.api import (
    BY_NAME,
    ENDPOINTS,
    AnalyticsClient,
    ApiError,
    Endpoint,
    Forbidden,
    InvalidRequest,
    MalformedResponse,
    NotFound,
    RateLimited,
    RateLimiter,
    RepeatedCursor,
    RetryPolicy,
    ServerError,
    TransportError,
    Unauthorized,
)
from analytics_pipeline.api import endpoints as ep
from analytics_pipeline.dates import day_problem, range_problem
from analytics_pipeline.privacy.secret import Secret

BASE = "https://api.example.test"
TOKEN = "tok-Zq8xV3-very-secret-4711"
TODAY = dt.date(2025, 10, 21)
YESTERDAY = TODAY - dt.timedelta(days=1)
PAGINATED = [e for e in ENDPOINTS if e.paginated]

Handler = Callable[[httpx.Request], httpx.Response]


class Recorder:
    """A MockTransport handler that records every request and answers from a script."""

    def __init__(self, *answers: httpx.Response | Exception | Handler) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers[min(len(self.requests), len(self.answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer) and not isinstance(answer, httpx.Response):
            return answer(request)
        return answer

    @property
    def params(self) -> list[dict[str, str]]:
        return [dict(r.url.params) for r in self.requests]


def ok(
    endpoint: Endpoint, records: list[dict[str, Any]], *, cursor: str | None = None, **extra: Any
) -> httpx.Response:
    body: dict[str, Any] = {endpoint.records_key: records, "metadata": {"generated_at": "x"}, **extra}
    if endpoint.paginated:
        body["pagination"] = {"has_more": cursor is not None, "next_cursor": cursor or ""}
    return httpx.Response(200, json=body)


def fail(status: int, code: str = "Oops", message: str = "it broke", **headers: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": message}}, headers=headers)


def make_client(
    handler: Handler,
    *,
    retry: RetryPolicy | None = None,
    limiter: RateLimiter | None = None,
    sleeps: list[float] | None = None,
) -> AnalyticsClient:
    return AnalyticsClient(
        BASE,
        Secret(TOKEN),
        transport=httpx.MockTransport(handler),
        retry=retry or RetryPolicy(rng=random.Random(7)),
        limiter=limiter,
        today=lambda: TODAY,
        sleep=(sleeps if sleeps is not None else []).append,
    )


def query_args(endpoint: Endpoint) -> dict[str, Any]:
    if endpoint.shape is ep.Shape.RANGE:
        return {"start": TODAY - dt.timedelta(days=7), "end": YESTERDAY}
    if endpoint.shape is ep.Shape.DAY:
        return {"day": YESTERDAY}
    return {"body": {}}


# ---------------------------------------------------------------------------------------------- paging


@pytest.mark.parametrize("endpoint", PAGINATED, ids=lambda e: e.name)
def test_pagination_walks_every_page_at_max_page_size(endpoint: Endpoint) -> None:
    server = Recorder(
        ok(endpoint, [{"n": 1}, {"n": 2}], cursor="c1"),
        ok(endpoint, [{"n": 3}], cursor="c2"),
        ok(endpoint, [{"n": 4, "brand_new_field": {"x": 1}}]),
    )
    with make_client(server) as client:
        pages = list(client.fetch(endpoint, **query_args(endpoint)))

    assert [p.number for p in pages] == [0, 1, 2]
    assert [r["n"] for p in pages for r in p.records] == [1, 2, 3, 4]
    assert pages[2].records[0]["brand_new_field"] == {"x": 1}  # unknown fields kept as received
    assert all(p.requests == 1 for p in pages)
    assert pages[0].metadata == {"generated_at": "x"}
    assert [p.get("cursor") for p in server.params] == [None, "c1", "c2"]
    for params in server.params:
        assert params["page_size"] == str(endpoint.max_page_size)
        for key, value in endpoint.extra_params.items():
            assert params[key] == value
    assert client.requests_sent == 3


def test_pages_are_requested_lazily() -> None:
    server = Recorder(ok(ep.DAU, [{"user_email": "a@x"}], cursor="c1"), ok(ep.DAU, []))
    with make_client(server) as client:
        pages = client.fetch(ep.DAU, day=YESTERDAY)
        assert server.requests == []
        next(pages)
        assert len(server.requests) == 1


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if not e.paginated], ids=lambda e: e.name)
def test_unpaginated_endpoint_yields_one_page_without_page_size(endpoint: Endpoint) -> None:
    server = Recorder(ok(endpoint, [{"a": 1}], pagination={"has_more": True, "next_cursor": "ignored"}))
    with make_client(server) as client:
        pages = list(client.fetch(endpoint, **query_args(endpoint)))
    assert len(pages) == 1 and pages[0].records == [{"a": 1}]
    assert "page_size" not in server.params[0]


def test_repeated_cursor_raises() -> None:
    server = Recorder(
        ok(ep.USER_ACTIVITY, [{"n": 1}], cursor="a"),
        ok(ep.USER_ACTIVITY, [{"n": 2}], cursor="b"),
        ok(ep.USER_ACTIVITY, [{"n": 3}], cursor="a"),
    )
    with make_client(server) as client, pytest.raises(RepeatedCursor) as info:
        list(client.user_activity(TODAY - dt.timedelta(days=3), YESTERDAY))
    assert len(server.requests) == 3  # never retried
    assert info.value.endpoint == "user_activity"


def test_has_more_with_empty_cursor_is_malformed() -> None:
    bad = httpx.Response(200, json={"users": [], "pagination": {"has_more": True, "next_cursor": ""}})
    server = Recorder(bad)
    with make_client(server, retry=RetryPolicy(max_attempts=2)) as client, pytest.raises(MalformedResponse):
        list(client.dau(YESTERDAY))
    assert len(server.requests) == 2


# ---------------------------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, InvalidRequest),
        (401, Unauthorized),
        (403, Forbidden),
        (404, NotFound),
        (429, RateLimited),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
    ],
)
def test_error_status_maps_to_class_with_code_and_message(status: int, cls: type[ApiError]) -> None:
    server = Recorder(fail(status, "SomeCode", "end_date cannot be later than yesterday (UTC)"))
    with make_client(server, retry=RetryPolicy(max_attempts=1)) as client, pytest.raises(cls) as info:
        client.dau_count(TODAY - dt.timedelta(days=3), YESTERDAY)
    error = info.value
    assert type(error) is cls
    assert error.status == status
    assert error.code == "SomeCode"
    assert error.message == "end_date cannot be later than yesterday (UTC)"
    assert error.endpoint == "dau_count"
    assert len(server.requests) == 1


def test_error_without_documented_body_falls_back_to_reason_phrase() -> None:
    server = Recorder(httpx.Response(502, text="<html>bad gateway</html>"))
    with make_client(server, retry=RetryPolicy(max_attempts=1)) as client, pytest.raises(ServerError) as info:
        client.dau_count(YESTERDAY, YESTERDAY)
    assert info.value.code is None
    assert info.value.message == "Bad Gateway"


def test_retry_then_success() -> None:
    sleeps: list[float] = []
    server = Recorder(fail(503), fail(503), ok(ep.DAU_COUNT, [{"date": "2025-10-20", "user_count": 3}]))
    with make_client(server, sleeps=sleeps) as client:
        pages = list(client.fetch(ep.DAU_COUNT, start=YESTERDAY, end=YESTERDAY))
    assert pages[0].records == [{"date": "2025-10-20", "user_count": 3}]
    assert pages[0].requests == 3
    assert client.requests_sent == 3
    assert len(sleeps) == 2


def test_429_honours_retry_after_and_penalizes_the_shared_limiter(tmp_path: Path) -> None:
    sleeps: list[float] = []
    now = [1_000.0]
    limiter = RateLimiter(tmp_path / "rl.json", 60, 5, clock=lambda: now[0], sleep=lambda s: None)
    server = Recorder(fail(429, "RateLimited", "slow down", **{"Retry-After": "7"}), ok(ep.DAU, []))
    with make_client(server, sleeps=sleeps, limiter=limiter) as client:
        list(client.dau(YESTERDAY))
    assert len(server.requests) == 2
    assert len(sleeps) == 1 and sleeps[0] >= 7
    # every process sharing the budget now waits at least as long
    tat = json.loads((tmp_path / "rl.json").read_text())["tat"]
    assert tat - limiter.tolerance >= now[0] + 7


@pytest.mark.parametrize("status", [400, 401, 403])
def test_no_retry_on_client_errors(status: int) -> None:
    sleeps: list[float] = []
    server = Recorder(fail(status))
    with make_client(server, sleeps=sleeps) as client, pytest.raises(ApiError):
        client.daily_usage(YESTERDAY, YESTERDAY)
    assert len(server.requests) == 1
    assert sleeps == []


def test_exhausted_retries_raise_the_last_error() -> None:
    sleeps: list[float] = []
    server = Recorder(fail(500, "A"), fail(502, "B"), fail(503, "C"))
    with make_client(server, retry=RetryPolicy(max_attempts=3), sleeps=sleeps) as client:
        with pytest.raises(ServerError) as info:
            client.dau_count(YESTERDAY, YESTERDAY)
    assert info.value.status == 503 and info.value.code == "C"
    assert len(server.requests) == 3 and len(sleeps) == 2


def test_transport_errors_are_retried() -> None:
    server = Recorder(
        httpx.ConnectError("connection refused"),
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("peer closed connection"),
        ok(ep.DAU_COUNT, []),
    )
    with make_client(server) as client:
        assert client.dau_count(YESTERDAY, YESTERDAY) == []
    assert client.requests_sent == 4


def test_transport_errors_exhausted_raise_transport_error() -> None:
    server = Recorder(httpx.ConnectError("connection refused"))
    with make_client(server, retry=RetryPolicy(max_attempts=3)) as client:
        with pytest.raises(TransportError) as info:
            client.dau_count(YESTERDAY, YESTERDAY)
    assert info.value.status is None
    assert "ConnectError" in str(info.value)
    assert len(server.requests) == 3


def _connect_error(cause: OSError) -> Handler:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(str(cause), request=request) from cause

    return refuse


@pytest.mark.parametrize(
    ("cause", "hint", "attempts"),
    [
        (ConnectionRefusedError(111, "Connection refused"), "nothing listens at api.example.test:443", 3),
        (ssl.SSLError(1, "[SSL: WRONG_VERSION_NUMBER] wrong version number"), "does not speak https", 1),
        (ssl.SSLCertVerificationError(1, "certificate verify failed"), "is not trusted here", 1),
    ],
    ids=["refused", "not-tls", "untrusted"],
)
def test_a_wrong_address_is_not_transient_and_says_what_to_check(
    cause: OSError, hint: str, attempts: int
) -> None:
    server = Recorder(_connect_error(cause))
    with make_client(server, retry=RetryPolicy(max_attempts=3)) as client:
        with pytest.raises(TransportError) as info:
            client.dau_count(YESTERDAY, YESTERDAY)
    assert not info.value.transient and hint in (info.value.hint or "")
    assert len(server.requests) == attempts  # a TLS handshake fails the same way every time


def _read_error(cause: OSError) -> Handler:
    def drop(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError(str(cause), request=request) from cause

    return drop


def test_a_dropped_connection_or_an_answer_cut_short_is_transient() -> None:
    dropped = httpx.RemoteProtocolError("peer closed")
    tls_dropped = _read_error(ssl.SSLEOFError(8, "EOF occurred in violation of protocol"))
    for answer in (dropped, httpx.Response(200, content=b'{"d'), tls_dropped):
        with make_client(Recorder(answer), retry=RetryPolicy(max_attempts=1)) as client:
            with pytest.raises(ApiError) as info:
                client.dau_count(YESTERDAY, YESTERDAY)
        assert info.value.transient and info.value.hint is None


def test_truncated_json_is_retried_then_raised_as_malformed() -> None:
    truncated = httpx.Response(
        200, content=b'{"users": [{"user_email": "a@x"', headers={"content-type": "application/json"}
    )
    server = Recorder(truncated)
    with make_client(server, retry=RetryPolicy(max_attempts=4)) as client, pytest.raises(MalformedResponse):
        list(client.dau(YESTERDAY))
    assert len(server.requests) == 4


def test_truncated_json_then_good_body_succeeds() -> None:
    server = Recorder(httpx.Response(200, content=b'{"daily_usage": ['), ok(ep.DAILY_USAGE, [{"date": "d"}]))
    with make_client(server) as client:
        assert client.daily_usage(YESTERDAY, YESTERDAY) == [{"date": "d"}]


def test_missing_records_key_is_malformed() -> None:
    server = Recorder(httpx.Response(200, json={"something_else": []}))
    with make_client(server, retry=RetryPolicy(max_attempts=1)) as client, pytest.raises(MalformedResponse):
        client.dau_count(YESTERDAY, YESTERDAY)


def test_one_info_line_per_retry(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="analytics_pipeline.api")
    server = Recorder(fail(503), fail(429), ok(ep.DAU_COUNT, []))
    with make_client(server) as client:
        client.dau_count(YESTERDAY, YESTERDAY)
    retries = [r for r in caplog.records if r.name == "analytics_pipeline.api" and r.levelno == logging.INFO]
    assert len(retries) == 2
    assert "dau_count" in retries[0].getMessage() and "503" in retries[0].getMessage()
    assert "429" in retries[1].getMessage()


# ---------------------------------------------------------------------------------------------- date rules


def _range_cases() -> list[tuple[dt.date, dt.date]]:
    return [
        (TODAY - dt.timedelta(days=91), YESTERDAY),  # 91 days > 90
        (TODAY - dt.timedelta(days=3), TODAY),  # end is today
        (dt.date(2023, 1, 1), dt.date(2023, 1, 5)),  # beyond the 2-year lookback
        (YESTERDAY, YESTERDAY - dt.timedelta(days=1)),  # end before start
    ]


RANGE_ENDPOINTS = [e for e in ENDPOINTS if e.shape is ep.Shape.RANGE]


@pytest.mark.parametrize("endpoint", RANGE_ENDPOINTS, ids=lambda e: e.name)
@pytest.mark.parametrize(("start", "end"), _range_cases())
def test_range_rules_refused_before_sending(endpoint: Endpoint, start: dt.date, end: dt.date) -> None:
    server = Recorder(ok(endpoint, []))
    with make_client(server) as client, pytest.raises(InvalidRequest) as info:
        client.fetch(endpoint, start=start, end=end)
    assert server.requests == []
    assert info.value.status is None
    assert info.value.message == range_problem(start, end, TODAY)


@pytest.mark.parametrize("endpoint", [e for e in ENDPOINTS if e.shape is ep.Shape.DAY], ids=lambda e: e.name)
@pytest.mark.parametrize("day", [TODAY, TODAY + dt.timedelta(days=5), dt.date(2023, 10, 1)])
def test_day_rules_refused_before_sending(endpoint: Endpoint, day: dt.date) -> None:
    server = Recorder(ok(endpoint, []))
    with make_client(server) as client, pytest.raises(InvalidRequest) as info:
        client.fetch(endpoint, day=day)
    assert server.requests == []
    assert info.value.status is None
    assert info.value.message == day_problem(day, TODAY, "date")


def test_typed_methods_refuse_bad_dates_before_sending() -> None:
    server = Recorder(ok(ep.DAU_COUNT, []))
    with make_client(server) as client:
        with pytest.raises(InvalidRequest):
            client.dau_count(TODAY - dt.timedelta(days=100), YESTERDAY)
        with pytest.raises(InvalidRequest):
            client.dau(TODAY)
        with pytest.raises(InvalidRequest):
            client.credit_usage_by_user(YESTERDAY, TODAY)
    assert server.requests == []


@pytest.mark.parametrize(
    ("endpoint", "kwargs"),
    [
        (ep.DAU_COUNT, {"start": YESTERDAY}),
        (ep.DAU_COUNT, {"day": YESTERDAY}),
        (ep.DAU, {}),
        (ep.DAU, {"start": YESTERDAY, "end": YESTERDAY}),
        (ep.BUDGET_OVERRIDES, {"day": YESTERDAY}),
    ],
)
def test_wrong_arguments_for_the_shape_are_refused(endpoint: Endpoint, kwargs: dict[str, Any]) -> None:
    server = Recorder(ok(endpoint, []))
    with make_client(server) as client, pytest.raises(InvalidRequest):
        client.fetch(endpoint, **kwargs)
    assert server.requests == []


def test_boundary_dates_are_accepted() -> None:
    server = Recorder(ok(ep.DAU_COUNT, []))
    start = YESTERDAY - dt.timedelta(days=89)  # exactly 90 days
    with make_client(server) as client:
        client.dau_count(start, YESTERDAY)
    assert server.params[0] == {"start_date": start.isoformat(), "end_date": YESTERDAY.isoformat()}


# ---------------------------------------------------------------------------------------------- typed methods


def _every_method() -> list[tuple[str, Callable[[AnalyticsClient], Any]]]:
    start = TODAY - dt.timedelta(days=3)
    return [
        ("dau_count", lambda c: c.dau_count(start, YESTERDAY)),
        ("dau", lambda c: list(c.dau(YESTERDAY))),
        ("daily_usage", lambda c: c.daily_usage(start, YESTERDAY)),
        ("user_activity", lambda c: list(c.user_activity(start, YESTERDAY))),
        ("editor_language", lambda c: list(c.daily_user_activity_by_editor_language(YESTERDAY))),
        ("credit_usage", lambda c: list(c.credit_usage_by_user(start, YESTERDAY))),
        ("budget_overrides", lambda c: c.get_user_budget_overrides(resource="BUDGET_RESOURCE_USD_COST")),
        ("set_budget_overrides", lambda c: c.set_user_budget_overrides([])),
    ]


@pytest.mark.parametrize(("name", "call"), _every_method(), ids=[n for n, _ in _every_method()])
def test_each_typed_method_hits_its_path_and_method(
    name: str, call: Callable[[AnalyticsClient], Any]
) -> None:
    endpoint = BY_NAME[name]
    server = Recorder(ok(endpoint, []))
    with make_client(server) as client:
        call(client)
    (request,) = server.requests
    assert request.method == endpoint.method
    assert request.url.path == endpoint.path
    assert str(request.url).startswith(BASE)
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"


def test_all_eight_endpoints_have_a_typed_method() -> None:
    assert {n for n, _ in _every_method()} == {e.name for e in ep.ENDPOINTS}


def test_credit_usage_breakdown_switches() -> None:
    server = Recorder(ok(ep.CREDIT_USAGE, []))
    with make_client(server) as client:
        list(client.credit_usage_by_user(YESTERDAY, YESTERDAY, by_date=False, by_model=True))
        list(client.credit_usage_by_user(YESTERDAY, YESTERDAY))
    assert server.params[0]["by_date"] == "false" and server.params[0]["by_model"] == "true"
    assert server.params[1]["by_date"] == "true" and server.params[1]["by_model"] == "true"
    assert server.params[0]["page_size"] == "500"


def test_get_budget_overrides_posts_its_body() -> None:
    overrides = [{"user_email": "a@x", "config": {"limit": "2500000"}, "extra": 1}]
    server = Recorder(httpx.Response(200, json={"overrides": overrides}))
    with make_client(server) as client:
        got = client.get_user_budget_overrides(
            resource="BUDGET_RESOURCE_CREDITS_CONSUMED", user_emails=["a@x"]
        )
        client.get_user_budget_overrides(resource="BUDGET_RESOURCE_USD_COST")
    assert got == overrides
    assert server.requests[0].method == "POST"
    assert json.loads(server.requests[0].content) == {
        "resource": "BUDGET_RESOURCE_CREDITS_CONSUMED",
        "period": "BUDGET_PERIOD_MONTHLY",
        "user_emails": ["a@x"],
    }
    assert json.loads(server.requests[1].content) == {
        "resource": "BUDGET_RESOURCE_USD_COST",
        "period": "BUDGET_PERIOD_MONTHLY",
    }
    assert server.requests[0].headers["content-type"] == "application/json"


def test_set_budget_overrides_posts_its_body_and_returns_the_response() -> None:
    overrides = [
        {
            "user_email": "a@x",
            "resource": "BUDGET_RESOURCE_USD_COST",
            "period": "BUDGET_PERIOD_MONTHLY",
            "config": {"limit": "100"},
        }
    ]
    server = Recorder(httpx.Response(200, json={"overrides": overrides, "updated": 1}), httpx.Response(204))
    with make_client(server) as client:
        assert client.set_user_budget_overrides(overrides) == {"overrides": overrides, "updated": 1}
        assert client.set_user_budget_overrides(overrides) == {}  # an empty answer is fine for a write
    assert json.loads(server.requests[0].content) == {"overrides": overrides}
    assert server.requests[0].method == "POST"


# ---------------------------------------------------------------------------------------------- secrecy


def test_token_never_leaks(caplog: pytest.LogCaptureFixture, tmp_path: Path) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, httpx's included
    server = Recorder(
        ok(ep.DAU, [{"user_email": "a@x"}], cursor="c1"),
        fail(503, "Unavailable", f"token {TOKEN} is overloaded"),  # a server echoing the token
        ok(ep.DAU, []),
        fail(401, TOKEN, f"bad token {TOKEN}"),
        httpx.ConnectError(f"cannot connect with {TOKEN}"),
    )
    raised: list[BaseException] = []
    client = make_client(server, retry=RetryPolicy(max_attempts=2))
    list(client.dau(YESTERDAY))
    for _ in range(2):  # a 401 echoing the token, then connection errors mentioning it
        with pytest.raises(ApiError) as info:
            client.dau_count(YESTERDAY, YESTERDAY)
        raised.append(info.value)
    with pytest.raises(InvalidRequest) as refused:
        client.dau(TODAY)
    raised.append(refused.value)
    client.close()

    assert server.requests[0].headers["Authorization"] == f"Bearer {TOKEN}"  # it was sent
    texts = [repr(client), str(client), repr(client.retry), repr(Secret(TOKEN))]
    for exc in raised:
        texts += [str(exc), repr(exc), repr(exc.args), str(vars(exc))]
    for record in caplog.records:
        texts += [record.getMessage(), str(record.args)]
    texts.append(caplog.text)
    assert caplog.records  # DEBUG logging really happened
    for text in texts:
        assert TOKEN not in text
    assert repr(client) == f"AnalyticsClient(base_url={BASE!r})"


# ---------------------------------------------------------------------------------------------- retry policy


def test_retry_delay_is_full_jitter_within_the_cap() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=10.0, rng=random.Random(1))
    for attempt in range(8):
        cap = min(10.0, 2.0**attempt)
        delays = [policy.delay(attempt, None) for _ in range(200)]
        assert all(0 <= d <= cap for d in delays)
        assert max(delays) > cap / 2  # really spread over the range
    assert policy.delay(100, None) <= 10.0


def test_retry_delay_never_below_retry_after() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=2.0, rng=random.Random(1))
    assert all(policy.delay(0, 30.0) >= 30.0 for _ in range(50))


@pytest.mark.parametrize(
    ("error", "retried"),
    [
        (InvalidRequest("x"), False),
        (Unauthorized("x"), False),
        (Forbidden("x"), False),
        (RepeatedCursor("x"), False),
        (RateLimited("x"), True),
        (ServerError("x", status=502), True),
        (TransportError("x"), True),
        (MalformedResponse("x"), True),
    ],
)
def test_which_errors_are_retried(error: ApiError, retried: bool) -> None:
    policy = RetryPolicy(max_attempts=3)
    assert policy.should_retry(error, 1) is retried
    assert policy.should_retry(error, 3) is False


def test_the_retry_budget_bounds_the_total_wait() -> None:
    sleeps: list[float] = []
    storm = fail(429, "ResourceExhausted", "slow down", **{"Retry-After": "2"})
    server = Recorder(storm)
    policy = RetryPolicy(max_attempts=10, base_delay=0.1, budget_seconds=5, rng=random.Random(1))
    with make_client(server, retry=policy, sleeps=sleeps) as client, pytest.raises(RateLimited) as info:
        client.dau_count(YESTERDAY, YESTERDAY)
    assert sleeps == [2.0, 2.0]  # a third wait would make 6 s, past the budget of 5
    assert len(server.requests) == 3
    assert str(info.value).endswith(
        "slow down; gave up after 3 attempts: waiting 2.0s more would pass the retry budget of 5s"
    )


def test_the_retry_budget_counts_the_attempts_own_time() -> None:
    # Each attempt runs to the client's deadline (100 s on a fake clock): the third leaves no budget
    # for a fourth, though the policy allows six.
    now = [0.0]

    def slow_timeout(request: httpx.Request) -> httpx.Response:
        now[0] += 100.0
        raise httpx.ReadTimeout("no complete answer within 100 s", request=request)

    server = Recorder(slow_timeout)
    policy = RetryPolicy(max_attempts=6, base_delay=0.1, budget_seconds=300, rng=random.Random(1))
    client = AnalyticsClient(
        BASE,
        Secret(TOKEN),
        transport=httpx.MockTransport(server),
        retry=policy,
        today=lambda: TODAY,
        sleep=lambda seconds: None,
        clock=lambda: now[0],
    )
    with client, pytest.raises(TransportError) as info:
        client.dau_count(YESTERDAY, YESTERDAY)
    assert len(server.requests) == 3
    assert "gave up after 3 attempts (which took 300.0s): waiting" in str(info.value)


def test_exhausted_attempts_say_how_many_and_how_long() -> None:
    sleeps: list[float] = []
    server = Recorder(fail(503, "Unavailable", "down"))
    policy = RetryPolicy(max_attempts=3, rng=random.Random(1))
    with make_client(server, retry=policy, sleeps=sleeps) as client, pytest.raises(ServerError) as info:
        client.dau_count(YESTERDAY, YESTERDAY)
    assert str(info.value) == (
        f"dau_count: HTTP 503 Unavailable: down; gave up after 3 attempts over {sum(sleeps):.1f}s of retries"
    )


def test_a_non_retryable_error_carries_no_give_up_note() -> None:
    with make_client(Recorder(fail(400, "InvalidArgument", "bad date"))) as client:
        with pytest.raises(InvalidRequest) as info:
            client.dau_count(YESTERDAY, YESTERDAY)
    assert info.value.gave_up is None and str(info.value) == "dau_count: HTTP 400 InvalidArgument: bad date"


def test_a_float_timeout_caps_the_connect_timeout() -> None:
    with AnalyticsClient(BASE, Secret(TOKEN), timeout=0.5) as short:
        assert short._http.timeout == httpx.Timeout(0.5, connect=0.5)
    with AnalyticsClient(BASE, Secret(TOKEN), timeout=45) as long:
        assert long._http.timeout == httpx.Timeout(45.0, connect=10.0)


# ---------------------------------------------------------------------------------------------- deadline

TRICKLE_SECONDS_PER_BYTE = 0.05
DEADLINE = 0.5
DAU_COUNT_BODY = json.dumps(
    {ep.DAU_COUNT.records_key: [{"date": YESTERDAY.isoformat(), "user_count": 3}]}
).encode()
DAU_COUNT_ANSWER = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    + f"Content-Length: {len(DAU_COUNT_BODY)}\r\n\r\n".encode()
    + DAU_COUNT_BODY
)


class _TrickleHandler(socketserver.StreamRequestHandler):
    """Reads a request's head, then sends ``DAU_COUNT_ANSWER``, its trickled part a byte at a time."""

    server: TrickleServer

    def handle(self) -> None:
        while self.rfile.readline() not in (b"\r\n", b""):
            pass
        head_length = DAU_COUNT_ANSWER.index(b"\r\n\r\n") + 4
        prompt = {"headers": 0, "body": head_length, None: len(DAU_COUNT_ANSWER)}[self.server.trickle]
        try:
            self.wfile.write(DAU_COUNT_ANSWER[:prompt])
            for byte in DAU_COUNT_ANSWER[prompt:]:
                time.sleep(TRICKLE_SECONDS_PER_BYTE)
                self.wfile.write(bytes([byte]))
                self.server.trickled += 1
        except OSError:  # the client gave up and closed the connection: what the tests want
            pass


class TrickleServer(socketserver.ThreadingTCPServer):
    """A loopback HTTP server that sends its answer one byte every 50 ms, from the status line on
    (``trickle="headers"``) or from the body on (``"body"``); ``None``: all at once."""

    daemon_threads = True

    def __init__(self, trickle: str | None) -> None:
        super().__init__(("127.0.0.1", 0), _TrickleHandler)
        self.trickle = trickle
        self.trickled = 0
        """Bytes sent one at a time so far."""

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> TrickleServer:
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()
        self.server_close()


def trickled_client(url: str, sleeps: list[float]) -> AnalyticsClient:
    return AnalyticsClient(
        url,
        Secret(TOKEN),
        retry=RetryPolicy(max_attempts=2, rng=random.Random(7)),
        deadline=DEADLINE,
        today=lambda: TODAY,
        sleep=sleeps.append,
    )


@pytest.mark.parametrize("trickle", ["headers", "body"])
def test_an_answer_trickled_byte_by_byte_is_cut_off_at_the_deadline_and_retried(trickle: str) -> None:
    # The whole answer would take 50 ms x ~140 bytes (7 s); each byte comes well within the read
    # timeout (30 s), so only a deadline for the attempt as a whole stops it.
    sleeps: list[float] = []
    with TrickleServer(trickle) as server:
        started = time.monotonic()
        with trickled_client(server.url, sleeps) as client, pytest.raises(TransportError) as info:
            client.dau_count(YESTERDAY, YESTERDAY)
        elapsed = time.monotonic() - started
    assert "no complete answer within 0.5 s" in str(info.value)
    assert info.value.retryable and "gave up after 2 attempts" in str(info.value)
    assert client.requests_sent == 2 and len(sleeps) == 1  # the retry policy applied
    assert elapsed < 2 * DEADLINE + 2.0  # the whole answer would take 7 s
    assert 0 < server.trickled < len(DAU_COUNT_ANSWER)


def test_the_deadline_bounds_a_proxy_from_the_environment_too(monkeypatch: pytest.MonkeyPatch) -> None:
    # httpx builds the proxies HTTP_PROXY and the like name as transports of their own: the deadline
    # must reach their connection pools as well (this pins _deadline.install's reach into httpx).
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    with TrickleServer("headers") as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        client = trickled_client("http://api.example.test", [])
        with client, pytest.raises(TransportError) as info:
            client.dau_count(YESTERDAY, YESTERDAY)
    assert "no complete answer within 0.5 s" in str(info.value)
    assert 0 < proxy.trickled < len(DAU_COUNT_ANSWER)


def test_a_prompt_answer_is_unaffected_by_the_deadline() -> None:
    with TrickleServer(None) as server, trickled_client(server.url, []) as client:
        assert client.dau_count(YESTERDAY, YESTERDAY) == [{"date": YESTERDAY.isoformat(), "user_count": 3}]
        assert client.dau_count(YESTERDAY, YESTERDAY) == [{"date": YESTERDAY.isoformat(), "user_count": 3}]


def test_the_deadline_must_be_positive() -> None:
    with pytest.raises(ValueError, match="deadline must be positive"):
        AnalyticsClient(BASE, Secret(TOKEN), deadline=0)


def test_the_resource_sets_the_deadline(tmp_path: Path) -> None:
    from analytics_pipeline.defs.resources import AnalyticsApiResource

    api = AnalyticsApiResource(token=TOKEN, data_dir=str(tmp_path), attempt_deadline_seconds=7)
    with api.client() as client:
        assert client.deadline == 7
    with AnalyticsApiResource(token=TOKEN, data_dir=str(tmp_path)).client() as client:
        assert client.deadline == 120
