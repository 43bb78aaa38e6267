"""Fault injection for the sandbox: what goes wrong, how often, all decided from a seed.

A :class:`FaultPlan` says which faults happen and how often; a :class:`FaultInjector` applies it to the
sandbox's responses (``SandboxServer(org, faults=FaultInjector(plan))``, or ``analytics-pipeline
sandbox --error-rate ...``). The kinds (:class:`FaultKind`):

========== ====================================================================================
error      500, 502 or 503 with the documented error body
drop       the connection is closed without a response
slow       the response is sent after ``slow_seconds`` (past the client's timeout, if longer)
truncate   a 200 whose JSON body is cut short: half of them with an honest ``Content-Length`` (the
           body is not valid JSON), half declaring the full length and closing the connection
           mid-body (the client sees a short read)
storm      429 ``ResourceExhausted`` for ``storm_length`` requests in a row, every ``storm_every``
           requests; with ``Retry-After: storm_retry_after_seconds``, or without, or alternately
penalty    429 for every request within ``penalty_seconds`` of a storm's start (``Retry-After``: the
           seconds left, when the storm sends one)
drift      records change shape: ``drift_add_field`` added (a field the pipeline does not know),
           ``drift_drop_field`` removed (a documented one), in a ``drift_rate`` fraction of records
write      every write (``set-user-budget-overrides``) after the first ``write_errors_after`` is
           answered 503 and not applied: a service that stops taking writes part way through a batch
========== ====================================================================================

Determinism. Only responses the sandbox would answer 2xx are touched; errors (401, 400, the rate
limiter's own 429) pass unchanged. Each touched response takes the next request number ``n`` (0, 1, 2,
...), and its fault is a pure function of ``(seed, n)`` (:meth:`FaultPlan.decide`): a hash, not a
shared random stream, so no thread's timing can change it. Storms are the request numbers
``n`` with ``n // storm_every >= 1`` and ``n % storm_every < storm_length``. Responses answered inside
a penalty window take no number: how many arrive there depends on the client's clock, and the rest of
the sequence does not shift. Which records drift is a pure function of ``(seed, record)``, so a record
drifts the same way in every response, page and retry that carries it.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import math
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, Literal

from analytics_pipeline.api.endpoints import BY_PATH, Shape
from analytics_pipeline.sandbox.server import SandboxRequest, SandboxResponse

ERROR_STATUSES: tuple[int, ...] = (500, 502, 503)
_ERROR_MESSAGES = {
    500: ("Internal", "injected fault: internal error"),
    502: ("Unavailable", "injected fault: bad gateway"),
    503: ("Unavailable", "injected fault: service unavailable"),
}
RetryAfterMode = Literal["always", "never", "alternate"]
RETRY_AFTER_MODES: tuple[str, ...] = ("always", "never", "alternate")


class FaultKind(enum.StrEnum):
    """The kinds of fault a :class:`FaultPlan` can inject (the keys of the injector's counters)."""

    ERROR = "error"
    DROP = "drop"
    SLOW = "slow"
    TRUNCATE = "truncate"
    STORM = "storm"
    PENALTY = "penalty"
    DRIFT = "drift"
    WRITE = "write"


TRANSIENT_KINDS: tuple[FaultKind, ...] = (
    FaultKind.ERROR,
    FaultKind.DROP,
    FaultKind.SLOW,
    FaultKind.TRUNCATE,
    FaultKind.STORM,
    FaultKind.PENALTY,
)
"""Faults that change no data: a request that gets through in the end gets exactly the clean answer."""


def _uniforms(*parts: object) -> tuple[float, float, float]:
    """Three numbers in [0, 1) that are a pure function of ``parts``."""
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=24).digest()
    first, second, third = (int.from_bytes(digest[i : i + 8], "big") / 2.0**64 for i in (0, 8, 16))
    return first, second, third


def _canonical(record: dict[str, Any]) -> str:
    """A record's identity for drift: its content, whatever the order of its keys."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


def _field_path(name: str, option: str) -> tuple[str, ...]:
    path = tuple(name.split("."))
    if not all(part.strip() for part in path):
        raise ValueError(f"{option} must be a field name, dotted for nested fields (metrics.x), got {name!r}")
    return path


@dataclasses.dataclass(frozen=True)
class Fault:
    """What :meth:`FaultPlan.decide` chose for one request number."""

    kind: FaultKind
    status: int = 200
    """The status sent: 5xx for an error, 429 for a storm, 200 otherwise."""
    retry_after: float | None = None
    """The ``Retry-After`` seconds of a storm (None: no header)."""
    opens_penalty: bool = False
    """A storm's first request: it opens the penalty window (when the plan has one)."""
    cut: float = 0.5
    """Truncate: the fraction of the body kept (the cut is never at either end)."""
    declares_full_length: bool = False
    """Truncate: send the full body's ``Content-Length`` and close mid-body, instead of an honest one."""


@dataclasses.dataclass(frozen=True)
class FaultPlan:
    """Which faults the sandbox injects, how often and how; frozen, and deterministic from ``seed``.

    Rates are fractions of the requests outside storms (together at most 1). The default plan
    injects nothing.
    """

    seed: int = 0
    error_rate: float = 0.0
    """Requests answered 500, 502 or 503 (equally often)."""
    drop_rate: float = 0.0
    """Requests whose connection is closed without a response."""
    slow_rate: float = 0.0
    """Requests answered only after ``slow_seconds``."""
    slow_seconds: float = 35.0
    """How long a slow response waits; the default is past the client's 30-second timeout."""
    truncate_rate: float = 0.0
    """Requests answered 200 with the JSON body cut short."""
    storm_every: int = 0
    """Every this many requests a 429 storm starts (0: no storms); the first after this many."""
    storm_length: int = 3
    """Requests answered 429 in a row by each storm."""
    storm_retry_after: RetryAfterMode = "alternate"
    """Whether storms send ``Retry-After``: always, never, or every other storm (the first one does)."""
    storm_retry_after_seconds: float = 1.0
    """The ``Retry-After`` a storm sends, rounded up to whole seconds as HTTP wants (values under a
    second are sent in milliseconds, for fast tests)."""
    penalty_seconds: float = 0.0
    """After a storm starts, every request is answered 429 for this long (0: no penalty window)."""
    drift_add_field: str | None = None
    """A field added to drifted records (dotted for a nested one: ``metrics.x`` goes into ``metrics``)."""
    drift_drop_field: str | None = None
    """A documented field removed from drifted records (``metrics.completions_suggested_lines_of_code``)."""
    drift_rate: float = 1.0
    """The fraction of records that drift, when a drift field is set."""
    write_errors_after: int | None = None
    """Writes answered as usual before every later one is answered 503 and not applied (None: never)."""

    def __post_init__(self) -> None:
        for name in ("error_rate", "drop_rate", "slow_rate", "truncate_rate", "drift_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
        if self.transient_rate > 1.0 + 1e-9:
            raise ValueError(
                "error, drop, slow and truncate rates add up to more than 1 "
                f"({self.transient_rate:g}); lower some of them"
            )
        if not self.slow_seconds > 0 or not math.isfinite(self.slow_seconds):
            raise ValueError(f"slow_seconds must be a positive number of seconds, got {self.slow_seconds!r}")
        if self.storm_every < 0:
            raise ValueError(f"storm_every must be 0 (no storms) or more, got {self.storm_every!r}")
        if self.storm_length < 1:
            raise ValueError(f"storm_length must be at least 1, got {self.storm_length!r}")
        if self.storm_every and self.storm_length >= self.storm_every:
            raise ValueError(
                f"storm_length ({self.storm_length}) must be shorter than storm_every "
                f"({self.storm_every}), or every request would be a 429"
            )
        if self.storm_retry_after not in RETRY_AFTER_MODES:
            raise ValueError(f"storm_retry_after must be one of {', '.join(RETRY_AFTER_MODES)}")
        if not self.storm_retry_after_seconds >= 0 or not math.isfinite(self.storm_retry_after_seconds):
            raise ValueError("storm_retry_after_seconds must be 0 or more")
        if not self.penalty_seconds >= 0 or not math.isfinite(self.penalty_seconds):
            raise ValueError(f"penalty_seconds must be 0 or more, got {self.penalty_seconds!r}")
        if self.penalty_seconds and not self.storm_every:
            raise ValueError("penalty_seconds needs storms: a penalty window opens when a storm starts")
        if self.write_errors_after is not None and self.write_errors_after < 0:
            raise ValueError(f"write_errors_after must be 0 or more, got {self.write_errors_after!r}")
        if self.drift_add_field is not None:
            _field_path(self.drift_add_field, "drift_add_field")
        if self.drift_drop_field is not None:
            _field_path(self.drift_drop_field, "drift_drop_field")

    @property
    def transient_rate(self) -> float:
        """The fraction of requests outside storms that get an error, drop, slow or truncate fault."""
        return self.error_rate + self.drop_rate + self.slow_rate + self.truncate_rate

    @property
    def drifts(self) -> bool:
        """Whether this plan changes the shape of any record."""
        return (self.drift_add_field is not None or self.drift_drop_field is not None) and self.drift_rate > 0

    @property
    def active(self) -> bool:
        """Whether this plan injects anything at all."""
        return (
            self.transient_rate > 0
            or self.storm_every > 0
            or self.drifts
            or self.write_errors_after is not None
        )

    def storm_sends_retry_after(self, storm: int) -> bool:
        """Whether storm number ``storm`` (1, 2, ...) sends ``Retry-After``."""
        if self.storm_retry_after == "alternate":
            return storm % 2 == 1
        return self.storm_retry_after == "always"

    def decide(self, n: int) -> Fault | None:
        """The fault of request number ``n`` (None: answered as is): a pure function of seed and n."""
        if self.storm_every:
            storm, position = divmod(n, self.storm_every)
            if storm >= 1 and position < self.storm_length:
                sends = self.storm_sends_retry_after(storm)
                return Fault(
                    FaultKind.STORM,
                    status=429,
                    retry_after=self.storm_retry_after_seconds if sends else None,
                    opens_penalty=position == 0 and self.penalty_seconds > 0,
                )
        u, v, w = _uniforms("fault", self.seed, n)
        for kind, rate in (
            (FaultKind.ERROR, self.error_rate),
            (FaultKind.DROP, self.drop_rate),
            (FaultKind.SLOW, self.slow_rate),
            (FaultKind.TRUNCATE, self.truncate_rate),
        ):
            if u < rate:
                if kind is FaultKind.ERROR:
                    return Fault(kind, status=ERROR_STATUSES[int(v * len(ERROR_STATUSES))])
                if kind is FaultKind.TRUNCATE:
                    return Fault(kind, cut=0.05 + 0.9 * w, declares_full_length=v >= 0.5)
                return Fault(kind)
            u -= rate
        return None

    def drifted(self, record: dict[str, Any]) -> bool:
        """Whether ``record`` drifts: a pure function of the seed and the record's content."""
        return self.drifts and _uniforms("drift", self.seed, _canonical(record))[0] < self.drift_rate

    def drift(self, record: dict[str, Any]) -> dict[str, Any] | None:
        """``record`` drifted (a new dict), or None when it does not drift or nothing applies to it."""
        if not self.drifts:
            return None
        canonical = _canonical(record)
        if _uniforms("drift", self.seed, canonical)[0] >= self.drift_rate:
            return None
        changed = json.loads(canonical)  # a deep copy: the org's cached records stay clean
        touched = False
        if self.drift_drop_field is not None:
            *parents, leaf = _field_path(self.drift_drop_field, "drift_drop_field")
            holder = _walk(changed, parents)
            if holder is not None and leaf in holder:
                del holder[leaf]
                touched = True
        if self.drift_add_field is not None:
            *parents, leaf = _field_path(self.drift_add_field, "drift_add_field")
            holder = _walk(changed, parents)
            if holder is not None:  # a nested field is only added where its parent object exists
                holder[leaf] = int(_uniforms("drift-value", self.seed, canonical)[0] * 1000)
                touched = True
        return changed if touched else None


def _walk(record: dict[str, Any], parents: list[str]) -> dict[str, Any] | None:
    holder: Any = record
    for key in parents:
        holder = holder.get(key) if isinstance(holder, dict) else None
    return holder if isinstance(holder, dict) else None


def _seconds_text(seconds: float) -> str:
    """A ``Retry-After`` value: whole seconds rounded up, or milliseconds under a second (tests)."""
    if seconds >= 1:
        return str(math.ceil(seconds))
    return f"{math.ceil(seconds * 1000) / 1000:g}"


class FaultInjector:
    """Applies a :class:`FaultPlan` to the sandbox's responses; a ``BeforeResponse`` callable.

    Request numbers are taken under a lock, so the sequence of faults is a pure function of the seed
    and the order of requests. :attr:`counts` says how often each kind fired. ``clock`` (monotonic
    seconds) times the penalty windows; tests may inject one.
    """

    def __init__(self, plan: FaultPlan, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.plan = plan
        self._clock = clock
        self._lock = threading.Lock()
        self._next = 0
        self._penalty_until: float | None = None
        self._penalty_retry_after = False
        self._counts: Counter[FaultKind] = Counter()
        self._writes = 0

    def __repr__(self) -> str:
        return f"FaultInjector({self.plan!r})"

    @property
    def counts(self) -> dict[FaultKind, int]:
        """How often each kind fired so far (drift: records changed)."""
        with self._lock:
            return {kind: self._counts[kind] for kind in FaultKind}

    @property
    def requests(self) -> int:
        """Request numbers taken so far (responses inside penalty windows take none)."""
        with self._lock:
            return self._next

    def refuse_write(self, request: SandboxRequest) -> SandboxResponse | None:
        """The 503 that stands in for a write past ``write_errors_after`` (None: serve it). Decided before
        the write is done, so a refused write changes nothing; every write counts, retries included."""
        limit = self.plan.write_errors_after
        endpoint = BY_PATH.get(request.path)
        if limit is None or endpoint is None or endpoint.shape is not Shape.WRITE:
            return None
        with self._lock:
            self._writes += 1
            if self._writes <= limit:
                return None
            self._counts[FaultKind.WRITE] += 1
        refused = SandboxResponse.error(503, "Unavailable", "injected fault: writes are unavailable")
        return dataclasses.replace(refused, fault=FaultKind.WRITE.value)

    def __call__(self, request: SandboxRequest, response: SandboxResponse) -> SandboxResponse:
        if not 200 <= response.status < 300 or response.fault is not None:
            return response
        with self._lock:
            now = self._clock()
            if self._penalty_until is not None and now < self._penalty_until:
                self._counts[FaultKind.PENALTY] += 1
                left = self._penalty_until - now
                return self._too_many(FaultKind.PENALTY, left if self._penalty_retry_after else None)
            n = self._next
            self._next += 1
            fault = self.plan.decide(n)
            if fault is not None:
                self._counts[fault.kind] += 1
                if fault.opens_penalty:
                    self._penalty_until = now + self.plan.penalty_seconds
                    self._penalty_retry_after = fault.retry_after is not None
        drifted = self._drift(request, response)
        if fault is None:
            return drifted
        return self._apply(fault, drifted)

    def _drift(self, request: SandboxRequest, response: SandboxResponse) -> SandboxResponse:
        """The response with its records drifted (a pure function of the records: no lock needed)."""
        endpoint = BY_PATH.get(request.path)
        if not self.plan.drifts or endpoint is None or endpoint.shape is Shape.WRITE:
            return response
        try:
            data = json.loads(response.body)
        except ValueError:
            return response
        records = data.get(endpoint.records_key) if isinstance(data, dict) else None
        if not isinstance(records, list):
            return response
        changed = 0
        for i, record in enumerate(records):
            if isinstance(record, dict) and (drifted := self.plan.drift(record)) is not None:
                records[i] = drifted
                changed += 1
        if not changed:
            return response
        with self._lock:
            self._counts[FaultKind.DRIFT] += changed
        body = json.dumps(data, separators=(",", ":")).encode()
        return dataclasses.replace(response, body=body, headers=dict(response.headers))

    def _apply(self, fault: Fault, response: SandboxResponse) -> SandboxResponse:
        if fault.kind is FaultKind.STORM:
            return self._too_many(FaultKind.STORM, fault.retry_after)
        if fault.kind is FaultKind.ERROR:
            code, message = _ERROR_MESSAGES[fault.status]
            injected = SandboxResponse.error(fault.status, code, message)
            return dataclasses.replace(injected, fault=fault.kind.value)
        if fault.kind is FaultKind.DROP:
            return dataclasses.replace(response, drop_connection=True, fault=fault.kind.value)
        if fault.kind is FaultKind.SLOW:
            return dataclasses.replace(response, delay=self.plan.slow_seconds, fault=fault.kind.value)
        assert fault.kind is FaultKind.TRUNCATE
        body = response.body
        kept = body[: min(len(body) - 1, max(1, int(len(body) * fault.cut)))]
        headers = dict(response.headers)
        if fault.declares_full_length:
            headers["Content-Length"] = str(len(body))
        return dataclasses.replace(response, body=kept, headers=headers, fault=fault.kind.value)

    def _too_many(self, kind: FaultKind, retry_after: float | None) -> SandboxResponse:
        headers = {"Retry-After": _seconds_text(retry_after)} if retry_after is not None else {}
        message = f"injected fault: rate limit exceeded ({kind.value})"
        response = SandboxResponse.error(429, "ResourceExhausted", message, headers)
        return dataclasses.replace(response, fault=kind.value)
