"""The client's one retry policy: which errors are retried, how often, and how long to wait."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from analytics_pipeline.api.errors import ApiError


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, never shorter than the server's ``Retry-After``.

    Retried: errors whose class says ``retryable`` (429, 5xx, transport errors, malformed bodies).
    Never retried: 400, 401, 403 and :class:`~analytics_pipeline.api.errors.RepeatedCursor`.
    ``max_attempts`` counts every attempt, the first one included.
    """

    max_attempts: int = 6
    base_delay: float = 1.0
    max_delay: float = 60.0
    rng: random.Random | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {self.max_attempts!r}")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("base_delay and max_delay cannot be negative")
        if self.rng is None:
            object.__setattr__(self, "rng", random.Random())

    def should_retry(self, error: ApiError, attempts: int) -> bool:
        """Whether to try again after ``error``, ``attempts`` attempts having been made so far."""
        return error.retryable and attempts < self.max_attempts

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
