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

    @classmethod
    def from_setting(cls, value: str | None) -> Secret | None:
        """``value`` without surrounding whitespace, the form every reader of a variable uses; None if blank.

        Whitespace around a secret is never part of it (the newline ``echo`` leaves, a space from a copy),
        and a reader that kept it would hold another secret: a token httpx will not send, a key with other
        pseudonyms and another fingerprint.
        """
        text = (value or "").strip()
        return cls(text) if text else None

    def header_problem(self) -> str | None:
        """Why the secret cannot go in an HTTP header, in words that never quote it; None if it can."""
        if any(c.isspace() for c in self._value):
            return "has a space or a line break inside it"
        if any(ord(c) < 0x20 or ord(c) == 0x7F for c in self._value):
            return "has a control character inside it"
        if not self._value.isascii():
            return "has a non-ASCII character in it (such as a typographic quote or dash)"
        return None

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

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("a Secret is never pickled")
