"""The Analytics API client: one paginator, one retry loop, one rate limiter.

:meth:`AnalyticsClient.fetch` is the only place that walks pages; every request goes through
:meth:`AnalyticsClient._send`, the only place that retries. The typed methods (one per endpoint) are thin
wrappers over :meth:`~AnalyticsClient.fetch`.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import logging
import math
import ssl
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import quote, quote_plus

import httpx

from analytics_pipeline import __version__
from analytics_pipeline.api import _deadline, errors
from analytics_pipeline.api._retry import RetryPolicy
from analytics_pipeline.api.endpoints import (
    BUDGET_OVERRIDES,
    CREDIT_USAGE,
    DAILY_USAGE,
    DAU,
    DAU_COUNT,
    EDITOR_LANGUAGE,
    SET_BUDGET_OVERRIDES,
    USER_ACTIVITY,
    Endpoint,
    Shape,
)
from analytics_pipeline.api.ratelimit import RateLimiter
from analytics_pipeline.api.records import BudgetOverrideRecord, DailyUsageRecord, DauCountRecord
from analytics_pipeline.dates import day_problem, range_problem, utc_today
from analytics_pipeline.privacy.secret import Secret

log = logging.getLogger("analytics_pipeline.api")

DEFAULT_TIMEOUT_SECONDS = 30.0
CONNECT_TIMEOUT_SECONDS = 10.0
DEFAULT_TIMEOUT = httpx.Timeout(DEFAULT_TIMEOUT_SECONDS, connect=CONNECT_TIMEOUT_SECONDS)
DEFAULT_DEADLINE_SECONDS = 120.0
"""Most seconds one attempt may take in all: connecting, sending, the headers and the whole body. The
timeouts bound each read only, and a server trickling its answer within them would never be left."""
_REDACTED = "[redacted]"


@dataclass(frozen=True)
class Page:
    """One page of an endpoint's response."""

    records: list[dict[str, Any]]
    """The records exactly as received (unknown fields kept)."""
    metadata: dict[str, Any]
    """The response's ``metadata`` object ({} when absent)."""
    number: int
    """0-based position of the page in its walk."""
    requests: int
    """HTTP attempts this page cost, retries included."""


@dataclass(frozen=True)
class _Body:
    """A parsed successful response."""

    data: dict[str, Any]
    records: list[dict[str, Any]]
    has_more: bool
    next_cursor: str | None


class AnalyticsClient:
    """A client for Augment Code's Analytics API.

    ``token`` goes into the ``Authorization`` header and nowhere else. ``timeout`` is an
    ``httpx.Timeout``, or seconds to wait for each read and write (connecting waits at most 10 s of
    them). ``deadline`` bounds each attempt as a whole (:data:`DEFAULT_DEADLINE_SECONDS`); past it the
    attempt fails with a :class:`~errors.TransportError` and is retried. ``transport`` replaces httpx's
    network transport (tests pass an ``httpx.MockTransport``, which the deadline does not reach);
    ``today`` fixes the date rules' clock; ``sleep`` is what retries wait with and ``clock`` what
    measures a request's time against the retry budget. ``base_url`` is taken as already validated
    (:func:`analytics_pipeline.config.settings.check_base_url`). ``on_accepted`` is called
    at the first successful response, before its records are returned; if it raises, they never are.
    """

    requests_sent: int
    """Every HTTP attempt this client made, retries included."""

    def __init__(
        self,
        base_url: str,
        token: Secret,
        *,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        deadline: float = DEFAULT_DEADLINE_SECONDS,
        transport: httpx.BaseTransport | None = None,
        today: Callable[[], dt.date] = utc_today,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        on_accepted: Callable[[], None] | None = None,
    ) -> None:
        if not isinstance(token, Secret):
            raise TypeError("token must be a Secret")
        if not deadline > 0:
            raise ValueError(f"deadline must be positive, got {deadline!r}")
        if not isinstance(timeout, httpx.Timeout):
            timeout = httpx.Timeout(float(timeout), connect=min(CONNECT_TIMEOUT_SECONDS, float(timeout)))
        self.base_url = base_url.rstrip("/")
        self.limiter = limiter
        self.retry = retry if retry is not None else RetryPolicy()
        self.requests_sent = 0
        self.deadline = float(deadline)
        self._token = token
        self._today = today
        self._sleep = sleep
        self._clock = clock
        self._on_accepted = on_accepted
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={
                "Authorization": f"Bearer {token.reveal()}",
                "Accept": "application/json",
                "User-Agent": f"analytics-pipeline/{__version__}",
            },
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )
        _deadline.install(self._http)

    def __repr__(self) -> str:
        return f"AnalyticsClient(base_url={self.base_url!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AnalyticsClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ------------------------------------------------------------------ the one paginator

    def fetch(
        self,
        endpoint: Endpoint,
        *,
        start: dt.date | None = None,
        end: dt.date | None = None,
        day: dt.date | None = None,
        body: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> Iterator[Page]:
        """Every page of one query, in order, requested lazily as the iterator advances.

        The arguments are checked here, before anything is sent (:class:`~errors.InvalidRequest`):
        range endpoints take ``start`` and ``end``, per-day endpoints take ``day``, POST endpoints take
        an optional JSON ``body``. ``params`` adds or overrides query parameters (after the endpoint's
        ``extra_params``). Paginated endpoints are asked for their maximum page size.
        """
        query = self._query(endpoint, start=start, end=end, day=day, body=body)
        query.update(params or {})
        payload: dict[str, Any] | None = None
        if endpoint.method == "POST":
            payload = dict(body) if body is not None else {}
        return self._walk(endpoint, query, payload)

    def _query(
        self,
        endpoint: Endpoint,
        *,
        start: dt.date | None,
        end: dt.date | None,
        day: dt.date | None,
        body: Mapping[str, Any] | None,
    ) -> dict[str, str]:
        def refuse(message: str) -> errors.InvalidRequest:
            error = errors.InvalidRequest(message, endpoint=endpoint.name)
            error.status = None  # never sent: no HTTP status (the class default is 400)
            return error

        query: dict[str, str] = {}
        if endpoint.shape is Shape.RANGE:
            if day is not None or body is not None:
                raise refuse("a range endpoint takes start and end only")
            if start is None or end is None:
                raise refuse("start and end are both required")
            problem = range_problem(start, end, self._today())
            if problem:
                raise refuse(problem)
            query = {"start_date": start.isoformat(), "end_date": end.isoformat()}
        elif endpoint.shape is Shape.DAY:
            if start is not None or end is not None or body is not None:
                raise refuse("a per-day endpoint takes day only")
            if day is None:
                raise refuse("day is required")
            problem = day_problem(day, self._today(), "date")
            if problem:
                raise refuse(problem)
            query = {"date": day.isoformat()}
        elif start is not None or end is not None or day is not None:
            raise refuse("this endpoint takes no dates")
        if endpoint.max_page_size is not None:
            query["page_size"] = str(endpoint.max_page_size)
        query.update(endpoint.extra_params)
        return query

    def _walk(
        self, endpoint: Endpoint, query: dict[str, str], payload: dict[str, Any] | None
    ) -> Iterator[Page]:
        seen: set[str] = set()
        cursor: str | None = None
        number = 0
        while True:
            page_query = dict(query)
            if cursor is not None:
                page_query["cursor"] = cursor
            parsed, attempts = self._send(endpoint, page_query, payload)
            metadata = parsed.data.get("metadata")
            page = Page(
                records=parsed.records,
                metadata=metadata if isinstance(metadata, dict) else {},
                number=number,
                requests=attempts,
            )
            if not (endpoint.paginated and parsed.has_more):
                yield page
                return
            assert parsed.next_cursor is not None  # checked by _parse
            if parsed.next_cursor in seen:
                raise errors.RepeatedCursor(
                    f"page {number} repeated a cursor already followed; stopping to avoid a loop",
                    status=200,
                    endpoint=endpoint.name,
                )
            seen.add(parsed.next_cursor)
            yield page
            cursor = parsed.next_cursor
            number += 1

    # ------------------------------------------------------------------ the one retry loop

    def _send(
        self, endpoint: Endpoint, query: dict[str, str], payload: dict[str, Any] | None
    ) -> tuple[_Body, int]:
        """Send one request, retrying per the policy; return the parsed body and the attempts made.

        Every attempt sends exactly ``query`` and ``payload`` again (a page's retry asks for the same
        cursor). A retryable error that is given up on says so (:attr:`~errors.ApiError.gave_up`).
        """
        attempts = 0
        waited = 0.0
        attempting = 0.0  # the attempts' own time counts against the retry budget too (a trickling server)
        while True:
            if self.limiter is not None:
                self.limiter.acquire()
            attempts += 1
            self.requests_sent += 1
            log.debug("%s %s %s attempt %d", endpoint.method, endpoint.path, _show(query), attempts)
            began = self._clock()
            try:
                body = self._attempt(endpoint, query, payload)
            except errors.ApiError as exc:
                error = exc
            else:
                if self._on_accepted is not None:
                    self._on_accepted()
                    self._on_accepted = None
                return body, attempts
            attempting += self._clock() - began
            if not self.retry.should_retry(error, attempts):
                if error.retryable:
                    error.gave_up = f"gave up after {_attempts(attempts)} over {waited:.1f}s of retries"
                    log.warning("%s", error)
                raise error
            delay = self.retry.delay(attempts - 1, error.retry_after)
            if not self.retry.within_budget(waited + attempting, delay):
                took = f" (which took {attempting:.1f}s)" if attempting >= 1 else ""
                error.gave_up = (
                    f"gave up after {_attempts(attempts)}{took}: waiting {delay:.1f}s more would pass the "
                    f"retry budget of {self.retry.budget_seconds:g}s"
                )
                log.warning("%s", error)
                raise error
            waited += delay
            log.info(
                "%s: %s; retry %d of %d in %.2fs",
                endpoint.name,
                # an error status says what happened; a malformed 200 or no response at all, the class
                error.status if error.status is not None and error.status >= 400 else type(error).__name__,
                attempts,
                self.retry.max_attempts - 1,
                delay,
            )
            if isinstance(error, errors.RateLimited) and self.limiter is not None:
                self.limiter.penalize(delay)
            self._sleep(delay)

    def _attempt(self, endpoint: Endpoint, query: dict[str, str], payload: dict[str, Any] | None) -> _Body:
        try:
            with _deadline.deadline(self.deadline):
                response = self._http.request(endpoint.method, endpoint.path, params=query, json=payload)
        except httpx.DecodingError as exc:
            raise errors.MalformedResponse(
                f"response body could not be decoded: {type(exc).__name__}", endpoint=endpoint.name
            ) from exc
        except httpx.RequestError as exc:  # transport errors, timeouts, protocol errors
            message = f"{type(exc).__name__}: {exc}"
            error = self._transport_error(endpoint, exc, self._redact(message))
            if error.message != message:
                # httpx's exception quotes the token (a header it refused): it must not ride along as the
                # cause, which tracebacks and Dagster's event log would show in full.
                raise error from None
            raise error from exc
        if not response.is_success:
            raise self._error(endpoint, response)
        return self._parse(endpoint, response)

    def _transport_error(
        self, endpoint: Endpoint, exc: httpx.RequestError, message: str
    ) -> errors.TransportError:
        """A transport error, transient but where connecting failed in a way that says the address is
        wrong (a TLS error once connected, a connection dropped mid-answer, is transient)."""
        error = errors.TransportError(message, endpoint=endpoint.name)
        cause = _os_cause(exc) if isinstance(exc, httpx.ConnectError) else None
        address = _address(self.base_url)
        if isinstance(cause, ssl.SSLCertVerificationError):
            error.hint = f"the TLS certificate of {address} is not trusted here"
        elif isinstance(cause, ssl.SSLError):
            error.hint = f"the server does not speak https at {address}: check AUGMENT_API_BASE_URL"
        elif isinstance(cause, ConnectionRefusedError):
            error.hint = f"nothing listens at {address}: check AUGMENT_API_BASE_URL"
        if error.hint is not None:
            error.transient = False
            # A failed TLS handshake fails the same way every time; a refused connection may be a
            # server restarting, which the retries wait out.
            error.retryable = not isinstance(cause, ssl.SSLError)
        return error

    def _error(self, endpoint: Endpoint, response: httpx.Response) -> errors.ApiError:
        code: str | None = None
        message = response.reason_phrase or "request failed"
        try:
            body = response.json()
        except (ValueError, UnicodeDecodeError):
            body = None
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            detail = body["error"]
            if detail.get("code") is not None:
                code = self._redact(str(detail["code"]))
            if detail.get("message") is not None:
                message = self._redact(str(detail["message"]))
        cls = errors.error_for_status(response.status_code)
        return cls(
            message,
            status=response.status_code,
            code=code,
            endpoint=endpoint.name,
            retry_after=_retry_after(response.headers.get("Retry-After")),
        )

    def _parse(self, endpoint: Endpoint, response: httpx.Response) -> _Body:
        def malformed(why: str) -> errors.MalformedResponse:
            return errors.MalformedResponse(why, status=response.status_code, endpoint=endpoint.name)

        if endpoint.shape is Shape.WRITE and not response.content.strip():
            return _Body({}, [], False, None)  # the write endpoint's response is undocumented
        try:
            data = json.loads(response.content)
        except (ValueError, UnicodeDecodeError):
            raise malformed(f"body is not valid JSON ({len(response.content)} bytes)") from None
        if not isinstance(data, dict):
            raise malformed(f"body is a JSON {type(data).__name__}, not an object")
        records = data.get(endpoint.records_key)
        if records is None and endpoint.shape is Shape.WRITE:
            records = []
        if not isinstance(records, list):
            raise malformed(f"body has no {endpoint.records_key!r} list")
        if not all(isinstance(r, dict) for r in records):
            raise malformed(f"{endpoint.records_key!r} holds something other than objects")
        has_more, next_cursor = False, None
        if endpoint.paginated:
            pagination = data.get("pagination")
            if pagination is not None:  # absent: a single page
                if not isinstance(pagination, dict):
                    raise malformed("pagination is not an object")
                has_more = pagination.get("has_more", False)
                if not isinstance(has_more, bool):
                    raise malformed("pagination.has_more is not a boolean")
                if has_more:
                    next_cursor = pagination.get("next_cursor")
                    if not isinstance(next_cursor, str) or not next_cursor:
                        raise malformed("pagination.has_more is true but next_cursor is empty")
        return _Body(data, records, has_more, next_cursor)

    def _redact(self, text: str) -> str:
        for form in _quoted_forms(self._token.reveal()):
            text = text.replace(form, _REDACTED)
        return text

    # ------------------------------------------------------------------ one typed method per endpoint

    def _records(self, pages: Iterator[Page]) -> list[dict[str, Any]]:
        return [record for page in pages for record in page.records]

    def dau_count(self, start: dt.date, end: dt.date) -> list[DauCountRecord]:
        """Daily active user counts, one record per day of ``start..end``."""
        return cast(list[DauCountRecord], self._records(self.fetch(DAU_COUNT, start=start, end=end)))

    def dau(self, day: dt.date) -> Iterator[Page]:
        """The users active on ``day`` (records: :class:`~records.DauUserRecord`), page by page."""
        return self.fetch(DAU, day=day)

    def daily_usage(self, start: dt.date, end: dt.date) -> list[DailyUsageRecord]:
        """Organisation-wide metrics per day with activity in ``start..end``."""
        return cast(list[DailyUsageRecord], self._records(self.fetch(DAILY_USAGE, start=start, end=end)))

    def user_activity(self, start: dt.date, end: dt.date) -> Iterator[Page]:
        """Per-user metrics summed over ``start..end`` (records: :class:`~records.UserActivityRecord`)."""
        return self.fetch(USER_ACTIVITY, start=start, end=end)

    def daily_user_activity_by_editor_language(self, day: dt.date) -> Iterator[Page]:
        """Per-user metrics on ``day`` by language and editor (:class:`~records.EditorLanguageRecord`)."""
        return self.fetch(EDITOR_LANGUAGE, day=day)

    def credit_usage_by_user(
        self, start: dt.date, end: dt.date, *, by_date: bool = True, by_model: bool = True
    ) -> Iterator[Page]:
        """Credits consumed per user (:class:`~records.CreditUsageRecord`), optionally by day and model."""
        breakdown = {"by_date": _flag(by_date), "by_model": _flag(by_model)}
        return self.fetch(CREDIT_USAGE, start=start, end=end, params=breakdown)

    def get_user_budget_overrides(
        self,
        *,
        resource: str,
        period: str = "BUDGET_PERIOD_MONTHLY",
        user_emails: list[str] | None = None,
    ) -> list[BudgetOverrideRecord]:
        """The explicit per-user budget overrides for ``resource`` (read in real time)."""
        body: dict[str, Any] = {"resource": resource, "period": period}
        if user_emails is not None:
            body["user_emails"] = list(user_emails)
        return cast(list[BudgetOverrideRecord], self._records(self.fetch(BUDGET_OVERRIDES, body=body)))

    def set_user_budget_overrides(self, overrides: list[dict[str, Any]]) -> dict[str, Any]:
        """Create or update per-user budget overrides; returns the response body as sent ({} if empty)."""
        endpoint = SET_BUDGET_OVERRIDES
        body = {"overrides": list(overrides)}
        query = self._query(endpoint, start=None, end=None, day=None, body=body)
        parsed, _ = self._send(endpoint, query, body)  # setting a value is idempotent: safe to retry
        return parsed.data


def _os_cause(exc: BaseException) -> OSError | None:
    """The operating system's error under httpx's and httpcore's wrappers, if there is one."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, OSError):
            return cause
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return None


def _address(base_url: str) -> str:
    """``host:port`` of a URL, the scheme's port when it names none."""
    url = httpx.URL(base_url)
    port = url.port or (443 if url.scheme == "https" else 80)
    host = f"[{url.host}]" if ":" in url.host else url.host
    return f"{host}:{port}"


def _quoted_forms(secret: str) -> list[str]:
    """Every way a message may quote ``secret``, longest first: as is, escaped (by ``repr`` of the text or
    of its bytes, as in httpx's ``Illegal header value b'Bearer ...'``, by JSON or ``unicode_escape``, with
    or without escaped quotes and slashes) and URL-encoded. The ``Bearer`` header holds these forms too."""
    escaped = {
        repr(secret)[1:-1],
        repr(secret.encode())[2:-1],
        secret.encode("unicode_escape").decode("ascii"),
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
    }
    forms = {secret, quote(secret, safe=""), quote_plus(secret)}
    for form in escaped:
        bare = form.replace("\\'", "'").replace('\\"', '"')
        forms |= {form, bare, bare.replace("'", "\\'"), bare.replace('"', '\\"'), form.replace("/", "\\/")}
    return sorted(forms - {""}, key=len, reverse=True)


def _attempts(count: int) -> str:
    return f"{count} attempt" if count == 1 else f"{count} attempts"


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _show(query: Mapping[str, str]) -> str:
    return "&".join(f"{k}={v}" for k, v in query.items())


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or an HTTP date), or None."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = (when - dt.datetime.now(dt.UTC)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)
