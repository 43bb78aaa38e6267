"""``ANALYTICS_STATE_URL``: where the rate limiter keeps its state when it is shared beyond one machine.

Unset, the state is a file under the data directory (``.state/``). Set, it is a PostgreSQL URL,
``postgresql://user:password@host:port/db`` (``postgres://`` too, and any query libpq accepts, such as
``?sslmode=require``), and every process on every host using the same token shares one budget.

The URL carries a password: :class:`StateUrl` keeps it out of its ``repr``, refuses to be pickled, and
:meth:`StateUrl.redact` removes it from any text that might echo it (a driver's error message).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote, urlsplit

import psycopg2
from psycopg2.extensions import parse_dsn

from analytics_pipeline.config.settings import ConfigError

VARIABLE = "ANALYTICS_STATE_URL"
SCHEMES = ("postgresql", "postgres")
EXAMPLE = "postgresql://user:password@host:5432/db"
MASK = "**********"


class StateUrl:
    """A validated ``postgresql://`` URL whose password only :meth:`reveal` gives back."""

    __slots__ = ("_passwords", "_url")

    def __init__(self, url: str) -> None:
        self._url = url
        self._passwords = _passwords(url)

    def reveal(self) -> str:
        """The URL, password included: call this only where the connection is opened."""
        return self._url

    def redact(self, text: str) -> str:
        """``text`` with every occurrence of the URL's password masked."""
        for password in self._passwords:
            text = text.replace(password, MASK)
        return text

    @property
    def display(self) -> str:
        """The URL with its password masked, for messages."""
        parts = urlsplit(self._url)
        if parts.password is None:
            return self._url
        netloc = parts.netloc.replace(f":{parts.password}@", f":{MASK}@", 1)
        return parts._replace(netloc=netloc).geturl()

    def __repr__(self) -> str:
        return f"StateUrl({self.display!r})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StateUrl) and other._url == self._url

    def __hash__(self) -> int:
        return hash(self._url)

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("a StateUrl is never pickled: it holds a password")


def _passwords(url: str) -> tuple[str, ...]:
    """Every spelling of the URL's password (libpq also takes one as ``?password=``), longest first."""
    parts = urlsplit(url)
    found = [parts.password or ""]
    found += [value for key, value in parse_qsl(parts.query, keep_blank_values=True) if key == "password"]
    found += [raw.partition("=")[2] for raw in parts.query.split("&") if raw.startswith("password=")]
    # The URL's percent-encoded spelling and the decoded one a driver may echo.
    spellings = {spelling for password in found for spelling in (password, unquote(password)) if spelling}
    return tuple(sorted(spellings, key=len, reverse=True))


def parse_state_url(value: str | None) -> StateUrl | None:
    """``ANALYTICS_STATE_URL`` as a :class:`StateUrl`, None when unset or blank; else a one-line error.

    Only the form is checked here; whether the server answers and accepts the password is checked by
    the commands that send requests, before they fetch anything (``api.ratelimit_postgres``).
    """
    text = (value or "").strip()
    if not text:
        return None
    # The value is never quoted back: it holds a password.
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - parsing the port is what raises for a bad one
    except ValueError:
        raise ConfigError(
            f"{VARIABLE} is not a valid URL; use the form {EXAMPLE}, with any of / : @ % in the password "
            "percent-encoded (%2F %3A %40 %25)"
        ) from None
    if parts.scheme.lower() not in SCHEMES:
        problem = f"its scheme is {parts.scheme!r}" if parts.scheme else "it has no scheme"
        raise ConfigError(
            f"{VARIABLE} must be a PostgreSQL URL of the form {EXAMPLE} (or postgres://...); {problem}"
        )
    url = StateUrl(text)
    try:
        parse_dsn(text)  # what libpq will refuse (a bad percent-escape, an unknown parameter), said now
    except psycopg2.Error as exc:
        reason = url.redact(" ".join(str(exc).split()))
        raise ConfigError(
            f"{VARIABLE} is not a URL PostgreSQL accepts ({reason}); use the form {EXAMPLE}"
        ) from None
    return url
