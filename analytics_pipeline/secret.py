"""A wrapper that keeps the API token out of reprs, logs, tracebacks and pickles."""

from __future__ import annotations

import hashlib


class Secret:
    """Holds a secret string; only :meth:`reveal` gives it back."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not value:
            raise ValueError("a secret cannot be empty")
        self._value = value

    def reveal(self) -> str:
        """The secret itself: call this only where it is sent (the Authorization header)."""
        return self._value

    def fingerprint(self) -> str:
        """A short one-way digest, to key per-token state (the rate-limit budget) without storing it."""
        return hashlib.sha256(b"analytics-pipeline:" + self._value.encode()).hexdigest()[:16]

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> object:
        raise TypeError("a Secret is never pickled")
