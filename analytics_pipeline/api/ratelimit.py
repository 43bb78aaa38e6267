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

The algorithm: the state is one float, the *theoretical arrival time* (TAT), persisted as JSON in
``state_path`` and read and written under an exclusive :class:`filelock.FileLock`. With
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
starts after the burst was spent waits instead of bursting again. A state file that cannot be read is
treated as "the burst was spent just now" (the safe side) and rewritten. The state is replaced
atomically (a temporary file renamed over it); a process killed in between leaves the temporary file,
which the next limiter on the same state removes under the lock.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from filelock import FileLock

from analytics_pipeline.privacy.secret import Secret

_MAX_AHEAD = 3600.0
"""A stored TAT further ahead than burst + this many seconds is treated as corrupt (e.g. a clock jump)."""


class RateLimiter:
    """A token bucket (as GCRA) of capacity ``burst`` refilled at ``requests_per_minute / 60`` per second.

    The bucket lives in ``state_path``, so every :class:`RateLimiter` on the same file, in any process,
    shares one budget. ``clock`` and ``sleep`` are injectable for tests; ``clock`` must be wall-clock
    time in every process sharing the file.
    """

    def __init__(
        self,
        state_path: Path,
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
        self.state_path = Path(state_path)
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
        self._lock = FileLock(str(self.state_path) + ".lock", mode=0o600)
        self._swept = False

    @staticmethod
    def state_path_for(directory: Path, token: Secret) -> Path:
        """The state file for ``token`` under ``directory``: one budget per token, the token never stored."""
        return Path(directory) / f"ratelimit-{token.fingerprint()}.json"

    def __repr__(self) -> str:
        return (
            f"RateLimiter({str(self.state_path)!r}, requests_per_minute={self.requests_per_minute:g}, "
            f"burst={self.burst})"
        )

    def acquire(self) -> float:
        """Wait for this process's next slot, and return the seconds waited."""
        with self._locked():
            now = self._clock()
            tat = max(self._read_tat(now), now)
            go_at = max(now, tat - self.tolerance)
            self._write_tat(tat + self.interval)
        wait = go_at - now
        if wait > 0:
            self._sleep(wait)
        return wait

    def penalize(self, seconds: float) -> None:
        """Make sure no process sharing this budget sends for ``seconds`` from now (after a 429).

        When the penalty ends, requests go one per interval: the server's bucket is empty then too.
        """
        if not seconds > 0:
            return
        with self._locked():
            now = self._clock()
            tat = max(self._read_tat(now), now + seconds + self.tolerance)
            self._write_tat(tat)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.state_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with self._lock:
            if not self._swept:
                # Every writer of the state writes its temporary file under this lock: any found now
                # belongs to a process that died before renaming it.
                for stale in self.state_path.parent.glob(f".{self.state_path.name}.*.tmp"):
                    stale.unlink(missing_ok=True)
                self._swept = True
            yield

    def _read_tat(self, now: float) -> float:
        spent_now = now + self.burst * self.interval  # the next request may go one interval from now
        try:
            text = self.state_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return now - self.interval  # never used: the full burst is available
        except (OSError, UnicodeDecodeError):
            return spent_now
        try:
            tat = json.loads(text)["tat"]
        except (ValueError, TypeError, KeyError):
            return spent_now
        if isinstance(tat, bool) or not isinstance(tat, int | float) or not math.isfinite(tat):
            return spent_now
        if tat > spent_now + _MAX_AHEAD:
            return spent_now
        return float(tat)

    def _write_tat(self, tat: float) -> None:
        directory = self.state_path.parent
        fd, tmp = tempfile.mkstemp(prefix=f".{self.state_path.name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:  # mkstemp creates the file with mode 0o600
                json.dump({"tat": tat}, fh)
            os.replace(tmp, self.state_path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
