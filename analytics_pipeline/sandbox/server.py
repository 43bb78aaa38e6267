"""A local sandbox of the Analytics API, served from a :class:`SyntheticOrg` (like stripe-mock).

It speaks the documented API: the eight endpoints of :mod:`analytics_pipeline.api.endpoints`, bearer
auth, the date rules of :mod:`analytics_pipeline.dates` (with exactly their messages), opaque cursors,
the documented page sizes and metadata, a token-bucket rate limit and the documented error body.

A request is checked in this order, each failure answering with the error body:

1. route: unknown path -> 404 ``NotFound``; known path, wrong method -> 405 ``MethodNotAllowed``
2. auth: no or unknown bearer token -> 401 ``Unauthenticated``; a forbidden token -> 403
   ``PermissionDenied``
3. rate limit (authorised requests only, so 401/403 never spend tokens) -> 429 ``ResourceExhausted``
4. validation -> 400 ``InvalidArgument``

Then the response passes through fault injection (:mod:`analytics_pipeline.sandbox.faults`, when the
server has a :class:`~analytics_pipeline.sandbox.faults.FaultInjector`) and the ``before_response``
seam. A response may carry an action for the socket, taken by the HTTP handler in one place: wait
``delay`` seconds before answering, or drop the connection without answering.

The standard library's ``ThreadingHTTPServer`` serves it: no dependency to install, it starts in a
thread within milliseconds for tests, and it binds to loopback only, which is all a sandbox needs.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import logging
import math
import re
import socket
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from analytics_pipeline import dates
from analytics_pipeline.api import endpoints as ep
from analytics_pipeline.api.errors import error_body
from analytics_pipeline.config.settings import DEFAULT_BURST, DEFAULT_REQUESTS_PER_MINUTE
from analytics_pipeline.sandbox.org import InvalidBudgetRequest, SyntheticOrg

if TYPE_CHECKING:  # faults.py builds on the request and response types defined here
    from analytics_pipeline.sandbox.faults import FaultInjector

logger = logging.getLogger("analytics_pipeline.sandbox")

DEFAULT_PAGE_SIZES: dict[str, int] = {
    ep.DAU.name: 100,
    ep.USER_ACTIVITY.name: 50,
    ep.EDITOR_LANGUAGE.name: 50,
    # Not documented: 100, like /dau, well under the reported maximum of 500.
    ep.CREDIT_USAGE.name: 100,
}
"""Documented default ``page_size`` per paginated endpoint (maxima come from the endpoint table)."""

DEFAULT_RANGE_DAYS = 7
"""Days a range endpoint serves when a date is omitted."""

MAX_BODY_BYTES = 1 << 20
_LOOPBACK_NAMES = {"localhost": "127.0.0.1"}
_INTEGER = re.compile(r"\s*-?[0-9]+\s*")
_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}

Today = dt.date | Callable[[], dt.date] | None


class BadRequest(Exception):
    """A request the API would refuse with 400 ``InvalidArgument``."""


@dataclasses.dataclass(frozen=True)
class SandboxRequest:
    """What the sandbox knows of a request; the token is deliberately left out."""

    method: str
    path: str
    query: Mapping[str, str]
    """The first value of every query parameter."""
    body: bytes = b""
    problem: str | None = None
    """Why the HTTP layer could not read the request (e.g. a bad Content-Length), if it could not."""
    received_at: float = dataclasses.field(default_factory=time.monotonic)
    """When the request was read (``time.monotonic``): the moment the rate limit judges it by, before
    the answer is computed."""


@dataclasses.dataclass
class SandboxResponse:
    """A response about to be sent: status, body bytes and headers, and what the socket should do.

    A ``Content-Length`` header, when set, is sent as is even if it does not match the body (a body
    cut short); the connection is then closed after the body, as a server that died mid-body would.
    """

    status: int
    body: bytes
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    delay: float = 0.0
    """Seconds to wait before sending anything (a slow response)."""
    drop_connection: bool = False
    """Close the connection without sending a response at all."""
    fault: str | None = None
    """The injected fault that shaped this response, if any (counted apart in :class:`RequestStats`)."""

    @classmethod
    def json(cls, status: int, payload: Any, headers: Mapping[str, str] | None = None) -> SandboxResponse:
        body = json.dumps(payload, separators=(",", ":")).encode()
        return cls(status, body, {"Content-Type": "application/json", **(headers or {})})

    @classmethod
    def error(
        cls, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> SandboxResponse:
        return cls.json(status, error_body(code, message), headers)


BeforeResponse = Callable[[SandboxRequest, SandboxResponse], SandboxResponse]
"""A seam for a test's own faults or a recorder: sees every response (after injected faults) before it
is sent, and may replace it."""


class RequestStats:
    """Thread-safe request counters: total, by path, by status, and injected faults by kind.

    A dropped connection counts in ``total``, ``by_path`` and ``faults`` but under no status: none was
    sent. :attr:`rate_limited` counts the rate limiter's 429s only, never a fault's.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._total = 0
        self._by_path: Counter[str] = Counter()
        self._by_status: Counter[int] = Counter()
        self._faults: Counter[str] = Counter()
        self._fault_429s = 0
        self._first: float | None = None
        self._last: float | None = None

    def record(self, path: str, status: int | None, fault: str | None = None) -> None:
        """Count one request: the status sent (None when the connection was dropped), and its fault."""
        now = time.monotonic()
        with self._lock:
            if self._first is None:
                self._first = now
            self._last = now
            self._total += 1
            self._by_path[path] += 1
            if status is not None:
                self._by_status[status] += 1
            if fault is not None:
                self._faults[fault] += 1
                if status == HTTPStatus.TOO_MANY_REQUESTS:
                    self._fault_429s += 1

    @property
    def total(self) -> int:
        with self._lock:
            return self._total

    @property
    def span(self) -> tuple[float, float] | None:
        """When the first and the last request were answered (``time.monotonic``), or None before any."""
        with self._lock:
            if self._first is None or self._last is None:
                return None
            return self._first, self._last

    @property
    def by_path(self) -> dict[str, int]:
        with self._lock:
            return dict(self._by_path)

    @property
    def by_status(self) -> dict[int, int]:
        with self._lock:
            return dict(self._by_status)

    @property
    def faults(self) -> dict[str, int]:
        """Injected faults by kind (see :class:`~analytics_pipeline.sandbox.faults.FaultKind`)."""
        with self._lock:
            return dict(self._faults)

    @property
    def rate_limited(self) -> int:
        """How many requests the rate limiter answered 429 (injected 429s are in :attr:`faults`)."""
        with self._lock:
            return self._by_status[HTTPStatus.TOO_MANY_REQUESTS] - self._fault_429s

    def reset(self) -> None:
        with self._lock:
            self._total = 0
            self._by_path.clear()
            self._by_status.clear()
            self._faults.clear()
            self._fault_429s = 0

    def snapshot(self) -> dict[str, Any]:
        """All counters at one instant."""
        with self._lock:
            return {
                "total": self._total,
                "by_path": dict(self._by_path),
                "by_status": dict(self._by_status),
                "faults": dict(self._faults),
            }


class SandboxRateLimiter:
    """One token bucket per API token: ``burst`` capacity, refilled at ``per_minute / 60`` a second."""

    def __init__(self, per_minute: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        if per_minute <= 0 or burst < 1:
            raise ValueError("requests_per_minute must be positive and burst at least 1")
        self.rate = per_minute / 60.0
        self.burst = burst
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # token -> (tokens, when)

    def acquire(self, key: str) -> float | None:
        """Spend one request for ``key``: None when allowed, else the seconds until one is."""
        with self._lock:
            now = self._clock()
            tokens, when = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - when) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return None
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate


def _check_loopback(host: str) -> str:
    address = _LOOPBACK_NAMES.get(host, host)
    try:
        loopback = ipaddress.ip_address(address).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"the sandbox binds to loopback only (127.0.0.1, ::1, localhost), not {host!r}")
    return address


def _today_source(today: Today) -> Callable[[], dt.date]:
    if today is None:
        return dates.utc_today
    if callable(today):
        return today
    if isinstance(today, dt.datetime):
        fixed = today.date()
    elif isinstance(today, dt.date):
        fixed = today
    else:
        raise TypeError("today must be None, a datetime.date or a callable returning one")
    return lambda: fixed


class SandboxServer:
    """The Analytics API on loopback, backed by a :class:`SyntheticOrg`.

    Use ``start()``/``stop()`` (a background thread, for tests) or ``serve_forever()`` (blocking, for
    the CLI); also a context manager. ``faults`` injects the faults of a
    :class:`~analytics_pipeline.sandbox.faults.FaultPlan`; ``before_response``, when set, sees every
    response after that, just before it is sent, and may replace it (a test's own fault, a recorder).
    """

    def __init__(
        self,
        org: SyntheticOrg,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tokens: tuple[str, ...] = ("sandbox-token",),
        forbidden_tokens: tuple[str, ...] = ("sandbox-readonly",),
        requests_per_minute: float | None = DEFAULT_REQUESTS_PER_MINUTE,
        burst: int = DEFAULT_BURST,
        retry_after: bool = False,
        today: Today = None,
        clock: Callable[[], float] = time.monotonic,
        faults: FaultInjector | None = None,
    ) -> None:
        address = _check_loopback(host)
        self.org = org
        self.tokens = frozenset(tokens)
        self.forbidden_tokens = frozenset(forbidden_tokens)
        self.retry_after = retry_after
        self.limiter = (
            SandboxRateLimiter(requests_per_minute, burst, clock) if requests_per_minute is not None else None
        )
        self.stats = RequestStats()
        self.faults = faults
        self.before_response: BeforeResponse | None = None
        self._today = _today_source(today)
        # Cursors are signed with a key fixed by the org, so they stay valid across restarts of one org.
        self._cursor_key = hashlib.sha256(f"sandbox-cursor:{org!r}".encode()).digest()
        self._results: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
        self._results_lock = threading.Lock()
        self._routes: dict[str, tuple[ep.Endpoint, Callable[[SandboxRequest], dict[str, Any]]]] = {
            ep.DAU_COUNT.path: (ep.DAU_COUNT, self._dau_count),
            ep.DAU.path: (ep.DAU, self._dau),
            ep.DAILY_USAGE.path: (ep.DAILY_USAGE, self._daily_usage),
            ep.USER_ACTIVITY.path: (ep.USER_ACTIVITY, self._user_activity),
            ep.EDITOR_LANGUAGE.path: (ep.EDITOR_LANGUAGE, self._editor_language),
            ep.CREDIT_USAGE.path: (ep.CREDIT_USAGE, self._credit_usage),
            ep.BUDGET_OVERRIDES.path: (ep.BUDGET_OVERRIDES, self._get_budget_overrides),
            ep.SET_BUDGET_OVERRIDES.path: (ep.SET_BUDGET_OVERRIDES, self._set_budget_overrides),
        }
        server_class = _IPv6Server if ":" in address else _IPv4Server
        self._httpd = server_class((address, port), _Handler)
        self._httpd.sandbox = self
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:54321``."""
        host, port = self._httpd.server_address[:2]
        host = host.decode() if isinstance(host, bytes) else host
        return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    @property
    def today(self) -> dt.date:
        """The UTC date the date rules are applied against."""
        return self._today()

    def start(self) -> SandboxServer:
        """Serve in a background thread; returns self."""
        if self._thread is not None:
            raise RuntimeError("the sandbox is already running")
        # A short poll interval makes stop() return in milliseconds rather than half a second.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="sandbox-server",
            daemon=True,
        )
        self._thread.start()
        logger.info("sandbox serving on %s", self.url)
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join()
            self._thread = None
        self._httpd.server_close()

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (Ctrl-C stops it cleanly)."""
        logger.info("sandbox serving on %s", self.url)
        try:
            self._httpd.serve_forever()
        except KeyboardInterrupt:
            logger.info("sandbox stopped")
        finally:
            self._httpd.server_close()

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- request flow ----------------------------------------------------------------------------------

    def handle(self, request: SandboxRequest, authorization: str | None) -> SandboxResponse:
        """Answer one request (the whole flow but the socket), then pass it through the fault seams."""
        response = self._answer(request, authorization)
        if self.faults is not None:
            response = self.faults(request, response)
        if self.before_response is not None:
            response = self.before_response(request, response)
        status = None if response.drop_connection else response.status
        self.stats.record(request.path, status, response.fault)
        if response.fault is None:
            logger.debug("%s %s %d", request.method, request.path, response.status)
        else:
            logger.debug("%s %s %d (%s)", request.method, request.path, response.status, response.fault)
        return response

    def _answer(self, request: SandboxRequest, authorization: str | None) -> SandboxResponse:
        if request.problem is not None:
            return SandboxResponse.error(400, "InvalidArgument", request.problem)
        route = self._routes.get(request.path)
        if route is None:
            return SandboxResponse.error(404, "NotFound", f"no such endpoint: {request.path}")
        endpoint, handler = route
        if request.method != endpoint.method:
            return SandboxResponse.error(
                405,
                "MethodNotAllowed",
                f"{request.path} accepts {endpoint.method}, not {request.method}",
                {"Allow": endpoint.method},
            )
        token, denied = self._authorize(authorization)
        if denied is not None:
            return denied
        if self.limiter is not None:
            wait = self.limiter.acquire(token)
            if wait is not None:
                headers = {"Retry-After": str(max(1, math.ceil(wait)))} if self.retry_after else {}
                message = (
                    f"rate limit exceeded: {self.limiter.rate * 60:g} requests per minute "
                    f"with a burst of {self.limiter.burst}"
                )
                return SandboxResponse.error(429, "ResourceExhausted", message, headers)
        if self.faults is not None and (refused := self.faults.refuse_write(request)) is not None:
            return refused
        try:
            return SandboxResponse.json(200, handler(request))
        except BadRequest as exc:
            return SandboxResponse.error(400, "InvalidArgument", str(exc))

    def _authorize(self, authorization: str | None) -> tuple[str, SandboxResponse | None]:
        """The bearer token, and the 401/403 response when it may not be served."""
        scheme, _, token = (authorization or "").strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return token, SandboxResponse.error(
                401,
                "Unauthenticated",
                "missing API token: send the header 'Authorization: Bearer <token>'",
                {"WWW-Authenticate": "Bearer"},
            )
        if token in self.forbidden_tokens:
            return token, SandboxResponse.error(
                403, "PermissionDenied", "this API token does not have permission to read analytics"
            )
        if token not in self.tokens:
            return token, SandboxResponse.error(
                401, "Unauthenticated", "invalid API token", {"WWW-Authenticate": "Bearer"}
            )
        return token, None

    # -- endpoints -------------------------------------------------------------------------------------

    def _published(self) -> SyntheticOrg:
        """The organisation's data as published today (late rows not arrived yet are missing)."""
        return self.org.seen_on(self.today)

    def _dau_count(self, request: SandboxRequest) -> dict[str, Any]:
        start, end = self._range(request.query)
        return {
            ep.DAU_COUNT.records_key: self._published().dau_count(start, end),
            "metadata": {**self._range_metadata(start, end), "total_days": (end - start).days + 1},
        }

    def _daily_usage(self, request: SandboxRequest) -> dict[str, Any]:
        start, end = self._range(request.query)
        records = self._published().daily_usage(start, end)
        return {
            ep.DAILY_USAGE.records_key: records,
            "metadata": {**self._range_metadata(start, end), "total_days": len(records)},
        }

    def _dau(self, request: SandboxRequest) -> dict[str, Any]:
        day = self._day(request.query)
        page, pagination = self._page(
            ep.DAU, request.query, f"{day}", lambda: self._published().dau_users(day)
        )
        return {
            ep.DAU.records_key: page,
            "pagination": pagination,
            "metadata": {
                "effective_date": day.isoformat(),
                "generated_at": self._generated_at(),
                "returned_user_count": len(page),
            },
        }

    def _user_activity(self, request: SandboxRequest) -> dict[str, Any]:
        start, end = self._range(request.query)
        page, pagination = self._page(
            ep.USER_ACTIVITY,
            request.query,
            f"{start}/{end}",
            lambda: self._published().user_activity(start, end),
        )
        return {
            ep.USER_ACTIVITY.records_key: page,
            "pagination": pagination,
            "metadata": {
                **self._range_metadata(start, end),
                "total_days": (end - start).days + 1,
                "returned_user_count": len(page),
            },
        }

    def _editor_language(self, request: SandboxRequest) -> dict[str, Any]:
        day = self._day(request.query)
        page, pagination = self._page(
            ep.EDITOR_LANGUAGE, request.query, f"{day}", lambda: self._published().editor_language(day)
        )
        return {
            ep.EDITOR_LANGUAGE.records_key: page,
            "pagination": pagination,
            "metadata": {
                "effective_date": day.isoformat(),
                "generated_at": self._generated_at(),
                "returned_record_count": len(page),
            },
        }

    def _credit_usage(self, request: SandboxRequest) -> dict[str, Any]:
        start, end = self._range(request.query)
        by_date = _boolean(request.query, "by_date")
        by_model = _boolean(request.query, "by_model")
        page, pagination = self._page(
            ep.CREDIT_USAGE,
            request.query,
            f"{start}/{end}/{by_date}/{by_model}",
            lambda: self._published().credit_usage(start, end, by_date=by_date, by_model=by_model),
        )
        return {
            ep.CREDIT_USAGE.records_key: page,
            "pagination": pagination,
            "metadata": {**self._range_metadata(start, end), "returned_record_count": len(page)},
        }

    def _get_budget_overrides(self, request: SandboxRequest) -> dict[str, Any]:
        body = _json_object(request.body)
        try:
            overrides = self.org.get_budget_overrides(
                user_emails=body.get("user_emails"), resource=body.get("resource"), period=body.get("period")
            )
        except InvalidBudgetRequest as exc:
            raise BadRequest(str(exc)) from None
        return {ep.BUDGET_OVERRIDES.records_key: overrides}

    def _set_budget_overrides(self, request: SandboxRequest) -> dict[str, Any]:
        body = _json_object(request.body)
        if "overrides" not in body:
            raise BadRequest("the body must be a JSON object with an 'overrides' list")
        try:
            written = self.org.set_budget_overrides(body["overrides"])
        except InvalidBudgetRequest as exc:
            raise BadRequest(str(exc)) from None
        return {ep.SET_BUDGET_OVERRIDES.records_key: written}

    # -- parameters ------------------------------------------------------------------------------------

    def _range(self, query: Mapping[str, str]) -> tuple[dt.date, dt.date]:
        """The effective inclusive range, after the documented defaults, or BadRequest."""
        today = self.today
        yesterday = dates.yesterday(today)
        span = dt.timedelta(days=DEFAULT_RANGE_DAYS - 1)
        start = _date(query, "start_date")
        end = _date(query, "end_date")
        if start is None and end is None:
            start, end = yesterday - span, yesterday
        elif end is None:
            assert start is not None
            problem = dates.day_problem(start, today, "start_date")
            if problem:
                raise BadRequest(problem)
            end = min(start + span, yesterday)
        elif start is None:
            # A defaulted start is clamped to the lookback; an explicit one never is.
            floor = dates.lookback_floor(today)
            start = max(end - span, floor) if end >= floor else end - span
        problem = dates.range_problem(start, end, today)
        if problem:
            raise BadRequest(problem)
        return start, end

    def _day(self, query: Mapping[str, str]) -> dt.date:
        today = self.today
        day = _date(query, "date") or dates.yesterday(today)
        problem = dates.day_problem(day, today, "date")
        if problem:
            raise BadRequest(problem)
        return day

    def _range_metadata(self, start: dt.date, end: dt.date) -> dict[str, Any]:
        return {
            "effective_start_date": start.isoformat(),
            "effective_end_date": end.isoformat(),
            "generated_at": self._generated_at(),
        }

    def _generated_at(self) -> str:
        """Now in UTC, on the sandbox's ``today`` (which tests may fix), ISO 8601 with ``Z``."""
        now = dt.datetime.now(dt.UTC)
        return dt.datetime.combine(self.today, now.time()).strftime("%Y-%m-%dT%H:%M:%SZ")

    # -- pagination ------------------------------------------------------------------------------------

    def _page(
        self,
        endpoint: ep.Endpoint,
        query: Mapping[str, str],
        scope: str,
        produce: Callable[[], list[dict[str, Any]]],
    ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        """One page of an endpoint's records, and its ``pagination`` object.

        ``scope`` names the effective query (the page size excluded, so it may change between pages);
        a cursor is only valid for the scope it was issued for.
        """
        assert endpoint.max_page_size is not None
        size = _page_size(query, DEFAULT_PAGE_SIZES[endpoint.name], endpoint.max_page_size)
        # Today is part of the scope: late rows change what a query returns from one day to the next.
        scope = f"{endpoint.path}?{scope}@{self.today}"
        offset = self._decode_cursor(query["cursor"], scope) if "cursor" in query else 0
        records = self._cached(scope, produce)
        page = records[offset : offset + size]
        has_more = offset + size < len(records)
        cursor = self._encode_cursor(offset + size, scope) if has_more else ""
        return page, {"next_cursor": cursor, "has_more": has_more}

    def _cached(self, scope: str, produce: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
        """Records of a paginated query, kept for the few most recent queries so paging stays cheap."""
        with self._results_lock:
            records = self._results.get(scope)
            if records is not None:
                self._results.move_to_end(scope)
                return records
        records = produce()
        with self._results_lock:
            self._results[scope] = records
            while len(self._results) > 16:
                self._results.popitem(last=False)
        return records

    def _signature(self, offset: int, scope: str) -> str:
        digest = hmac.new(self._cursor_key, f"{scope}#{offset}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:12]).decode()

    def _encode_cursor(self, offset: int, scope: str) -> str:
        payload = json.dumps({"offset": offset, "sig": self._signature(offset, scope)}, separators=(",", ":"))
        return base64.urlsafe_b64encode(payload.encode()).decode()

    def _decode_cursor(self, cursor: str, scope: str) -> int:
        try:
            payload = json.loads(base64.urlsafe_b64decode(cursor.encode("ascii")))
            offset, signature = payload["offset"], payload["sig"]
            valid = (
                isinstance(offset, int)
                and not isinstance(offset, bool)
                and offset >= 0
                and isinstance(signature, str)
                and hmac.compare_digest(signature, self._signature(offset, scope))
            )
        except (UnicodeError, binascii.Error, ValueError, TypeError, KeyError):
            valid = False
        if not valid:
            raise BadRequest("invalid cursor: it is malformed or belongs to a different query")
        return offset


def _date(query: Mapping[str, str], name: str) -> dt.date | None:
    if name not in query:
        return None
    try:
        return dates.parse_date(query[name], name)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None


def _page_size(query: Mapping[str, str], default: int, maximum: int) -> int:
    if "page_size" not in query:
        return default
    text = query["page_size"]
    if not _INTEGER.fullmatch(text):
        raise BadRequest(f"page_size must be an integer, got {text!r}")
    size = int(text)
    if not 1 <= size <= maximum:
        raise BadRequest(f"page_size must be between 1 and {maximum}, got {size}")
    return size


def _boolean(query: Mapping[str, str], name: str) -> bool:
    text = query.get(name)
    if text is None:
        return False
    value = _BOOLEANS.get(text.strip().lower())
    if value is None:
        raise BadRequest(f"{name} must be true or false, got {text!r}")
    return value


def _json_object(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("the request body is not valid JSON") from None
    if not isinstance(value, dict):
        raise BadRequest("the request body must be a JSON object")
    return value


class _IPv4Server(ThreadingHTTPServer):
    daemon_threads = True
    sandbox: SandboxServer


class _IPv6Server(_IPv4Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    """Turns HTTP into :meth:`SandboxServer.handle` calls; no logic of its own."""

    protocol_version = "HTTP/1.1"
    server_version = "AnalyticsSandbox/1"
    timeout = 30  # an idle keep-alive connection is dropped after this many seconds
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall
    server: _IPv4Server

    def _dispatch(self) -> None:
        split = urlsplit(self.path)
        body, problem = self._read_body()
        query = {k: v[0] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        if problem is not None:
            self.close_connection = True  # the unread body would be taken for the next request
        request = SandboxRequest(self.command, split.path, query, body, problem)
        response = self.server.sandbox.handle(request, self.headers.get("Authorization"))
        self._send(response)

    def _send(self, response: SandboxResponse) -> None:
        """Write the response, after the socket actions it carries (the one place they are taken)."""
        if response.delay > 0:
            time.sleep(response.delay)
            # The client may have given up meanwhile; never read another request from its socket.
            self.close_connection = True
        if response.drop_connection:
            self.close_connection = True  # the server closes the socket: no status line, no body
            return
        declared = response.headers.get("Content-Length")
        if declared is not None and declared != str(len(response.body)):
            self.close_connection = True  # a body cut short: the client must not wait for the rest
        try:
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            if declared is None:
                self.send_header("Content-Length", str(len(response.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)
        except ConnectionError:  # the client left (it timed out on a slow response): nobody to tell
            self.close_connection = True

    def _read_body(self) -> tuple[bytes, str | None]:
        """The request body, read whole so a keep-alive connection stays in step (or why it was not)."""
        length_text = self.headers.get("Content-Length")
        if length_text is None:
            return b"", None
        try:
            length = int(length_text)
        except ValueError:
            return b"", f"Content-Length is not an integer: {length_text!r}"
        if length < 0 or length > MAX_BODY_BYTES:
            return b"", f"the request body must be between 0 and {MAX_BODY_BYTES} bytes"
        return self.rfile.read(length), None

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # The base class's line carries the query string; handle() logs each request without it.
        pass

    def log_message(self, format: str, *args: Any) -> None:
        # The base class writes to stderr; the sandbox never writes to the console itself.
        logger.debug("http: " + format, *args)
