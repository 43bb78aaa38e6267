"""The client's one retry policy: which errors are retried, how often, and how long to wait."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from analytics_pipeline.api.errors import ApiError

DEFAULT_MAX_ATTEMPTS = 6
DEFAULT_BASE_DELAY = 1.0
DEFAULT_MAX_DELAY = 60.0
DEFAULT_BUDGET_SECONDS = 300.0
"""Five minutes at most per request, attempts and waits: well past the backoff of six attempts (31 s at
most without ``Retry-After``), short enough that a storm of long ``Retry-After`` waits, or a server too
slow to answer within the client's deadline, fails the run clearly instead of stalling it for hours."""


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, never shorter than the server's ``Retry-After``.

    Retried: errors whose class says ``retryable`` (429, 5xx, transport errors, malformed bodies).
    Never retried: 400, 401, 403 and :class:`~analytics_pipeline.api.errors.RepeatedCursor`.
    ``max_attempts`` counts every attempt, the first one included. ``budget_seconds`` bounds the time
    one request may take, its attempts and the waits between them: a wait that would go past it (a long
    ``Retry-After``, a 429 storm, attempts that each ran to the client's deadline) is not made, and the
    error is raised at once instead.
    """

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    base_delay: float = DEFAULT_BASE_DELAY
    max_delay: float = DEFAULT_MAX_DELAY
    budget_seconds: float = DEFAULT_BUDGET_SECONDS
    rng: random.Random | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts!r}")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("base_delay and max_delay cannot be negative")
        if not self.budget_seconds >= 0:
            raise ValueError(f"budget_seconds cannot be negative, got {self.budget_seconds!r}")
        if self.rng is None:
            object.__setattr__(self, "rng", random.Random())

    def should_retry(self, error: ApiError, attempts: int) -> bool:
        """Whether to try again after ``error``, ``attempts`` attempts having been made so far."""
        return error.retryable and attempts < self.max_attempts

    def within_budget(self, spent: float, delay: float) -> bool:
        """Whether waiting ``delay`` more seconds, ``spent`` already (attempts and waits), stays within
        the budget."""
        return spent + delay <= self.budget_seconds

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (0-based).

        ``uniform(0, min(max_delay, base_delay * 2**attempt))``, but at least ``retry_after`` when the
        server sent one.
        """
        assert self.rng is not None  # set in __post_init__
        cap = min(self.max_delay, self.base_delay * 2.0 ** min(attempt, 64))
        wait = self.rng.uniform(0.0, cap)
        if retry_after is not None and retry_after > wait:
            wait = retry_after
        return wait
