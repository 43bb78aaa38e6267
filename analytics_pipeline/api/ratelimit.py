"""A rate limiter shared by every process that uses the same API token.

The Analytics API allows 10 requests per minute after a burst of 20: a token bucket of capacity
``burst`` refilled at ``requests_per_minute / 60`` tokens per second. :class:`RateLimiter` enforces
exactly that on our side, across processes (Dagster runs each step in its own process) and across
restarts, so the API never has to answer 429.

Why hand-written: we checked pyrate-limiter, which has a SQLite bucket guarded by a file lock. Its model is
a set of fixed or sliding window rates (e.g. ``Rate(10, Duration.MINUTE)``), which cannot express
"10 per minute after a burst of 20": a 10-per-minute window forbids the burst, and adding a
20-per-2-minutes rate allows 20 back-to-back again at each window edge, i.e. faster than the API's
token bucket refills. GCRA (the generic cell rate algorithm) is the token bucket written as one number,
about thirty lines, and exact.

The algorithm: the state is one float, the *theoretical arrival time* (TAT), read and replaced in one
step under a lock every sharer respects. Where it lives is a :class:`LimiterState`: a JSON file under a
file lock (:mod:`.ratelimit_file`, the default: every process of one machine) or a row of a PostgreSQL
table under a row lock (:mod:`.ratelimit_postgres`, with ``ANALYTICS_STATE_URL``: every host). The
arithmetic below is the same for both. With
``interval = 60 / requests_per_minute`` and ``tolerance = (burst - 1) * interval``, a request arriving at
``now`` may go at ``max(TAT, now) - tolerance`` (or now, if that is earlier), and moves the TAT on by one
interval. The reservation is made under the lock and the wait happens after the lock is released, so
processes queue fairly and in any window of ``w`` seconds at most ``burst + w / interval`` requests go.

The pipeline keeps one token of the server's bucket in reserve (``headroom=1``): the client's schedule
is exact, but requests do not arrive exactly on it (the first one also pays for the connection set-up,
so the ones after it arrive relatively early), and a request that reaches an empty server bucket is a
429, which blocks the token for a while. The reserve absorbs up to one interval of such jitter and
costs nothing once the burst is spent: the long-run rate is unchanged.

Times are wall-clock (``time.time()``), shared by all processes and surviving restarts: a process that
starts after the burst was spent waits instead of bursting again. A stored TAT that cannot be read (or
one implausibly far ahead, as after a clock jump) is treated as "the burst was spent just now" (the safe
side) and replaced.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypeVar

from analytics_pipeline.api.ratelimit_file import FileLimiterState
from analytics_pipeline.privacy.secret import Secret

_MAX_AHEAD = 3600.0
"""A stored TAT further ahead than burst + this many seconds is treated as corrupt (e.g. a clock jump)."""

T = TypeVar("T")


class LimiterState(Protocol):
    """Where a :class:`RateLimiter` keeps its TAT: one value per budget, shared by every limiter on it."""

    def update(self, step: Callable[[float | None], tuple[float, T]]) -> T:
        """Call ``step`` with the stored TAT, store the TAT it returns, and return its result.

        No other update of the same state runs in between, in any process. The stored TAT is None when
        nothing was ever stored, NaN when what was stored cannot be read. ``step`` may be called again
        if the first attempt could not be stored (a dropped connection): it must only compute.
        """
        ...

    def close(self) -> None:
        """Release what the state holds open (a connection); it is opened again when next used."""
        ...


class RateLimiter:
    """A token bucket (as GCRA) of capacity ``burst`` refilled at ``requests_per_minute / 60`` per second.

    The bucket lives in ``state``: a :class:`LimiterState`, or the path of a state file. Every
    :class:`RateLimiter` on the same state, in any process, shares one budget. ``clock`` and ``sleep`` are
    injectable for tests; ``clock`` must be wall-clock time in every process sharing the state.
    """

    def __init__(
        self,
        state: LimiterState | Path,
        requests_per_minute: float,
        burst: int,
        *,
        headroom: int = 0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not requests_per_minute > 0 or not math.isfinite(requests_per_minute):
            raise ValueError(f"requests_per_minute must be a positive number, got {requests_per_minute!r}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1, got {burst!r}")
        self.state: LimiterState = FileLimiterState(Path(state)) if isinstance(state, os.PathLike) else state
        self.requests_per_minute = float(requests_per_minute)
        self.burst = int(burst)
        self.interval = 60.0 / self.requests_per_minute
        """Seconds between requests once the burst is spent."""
        self.headroom = max(0, min(int(headroom), self.burst - 1))
        """Tokens of the server's bucket never spent by the burst, to absorb arrival jitter."""
        self.tolerance = (self.burst - 1 - self.headroom) * self.interval
        """How far ahead of ``now`` the TAT may run while a request can still go at once."""
        self._clock = clock
        self._sleep = sleep

    @staticmethod
    def state_path_for(directory: Path, token: Secret) -> Path:
        """The state file for ``token`` under ``directory``: one budget per token, the token never stored."""
        return FileLimiterState.path_for(directory, token)

    def __repr__(self) -> str:
        return (
            f"RateLimiter({self.state!r}, requests_per_minute={self.requests_per_minute:g}, "
            f"burst={self.burst})"
        )

    def acquire(self) -> float:
        """Wait for this process's next slot, and return the seconds waited."""
        # The slot is reserved under the state's lock; the wait happens after it is released.
        wait = self.state.update(self._reserve)
        if wait > 0:
            self._sleep(wait)
        return wait

    def penalize(self, seconds: float) -> None:
        """Make sure no process sharing this budget sends for ``seconds`` from now (after a 429).

        When the penalty ends, requests go one per interval: the server's bucket is empty then too.
        """
        if not seconds > 0:
            return

        def push_back(stored: float | None) -> tuple[float, None]:
            now = self._clock()
            return max(self._tat(stored, now), now + seconds + self.tolerance), None

        self.state.update(push_back)

    def close(self) -> None:
        """Release the state's connection, if it holds one; the limiter stays usable."""
        self.state.close()

    def _reserve(self, stored: float | None) -> tuple[float, float]:
        """The next slot: the new TAT, and how long to wait for the slot."""
        now = self._clock()
        tat = max(self._tat(stored, now), now)
        go_at = max(now, tat - self.tolerance)
        return tat + self.interval, go_at - now

    def _tat(self, stored: float | None, now: float) -> float:
        """The stored TAT, or what to assume when there is none (a full burst) or it is unusable."""
        spent_now = now + self.burst * self.interval  # the next request may go one interval from now
        if stored is None:
            return now - self.interval  # never used: the full burst is available
        if not math.isfinite(stored) or stored > spent_now + _MAX_AHEAD:
            return spent_now
        return float(stored)
