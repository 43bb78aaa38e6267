"""The rate limiter's state in PostgreSQL: one budget per token shared by every process on every host.

Used when ``ANALYTICS_STATE_URL`` is set. The table :data:`TABLE` (created if missing) holds one row per
token fingerprint (:meth:`Secret.fingerprint`; never the token) with its TAT. An update is one
transaction: make sure the row exists, lock it (``select ... for update``), let the limiter compute the new
TAT, store it, commit. Processes queue on the row lock exactly as they queue on the file lock of the
default state, so the GCRA is the same (``api.ratelimit``) and so is its guarantee.

Time is each process's wall clock, as with the state file, not PostgreSQL's ``clock_timestamp()``: the
arithmetic stays in one place, in Python, where tests inject a clock. Hosts sharing a budget must keep
their clocks synchronised (NTP does, to milliseconds); a host whose clock runs ahead by ``e`` seconds may
send up to ``e`` early, which the token the pipeline keeps in reserve absorbs up to one interval (6 s at
the API's default 10 a minute).

Each state keeps one connection, opened at first use. A connection that drops is opened again and the
update retried once; the worst a retry can do is reserve one slot twice (the safe side). The first
connection failing is a :class:`ConfigError` (exit 2: the URL, the server or the password is wrong);
a later one a transient :class:`LimiterStateUnavailable`. No message ever holds the URL's password:
the driver's text is redacted (:meth:`StateUrl.redact`), and the driver's exception is neither the
cause nor the context of ours.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import psycopg2

from analytics_pipeline.config.settings import ConfigError
from analytics_pipeline.config.state_url import VARIABLE, StateUrl
from analytics_pipeline.errors import PipelineError
from analytics_pipeline.privacy.secret import Secret

T = TypeVar("T")

TABLE = "analytics_pipeline_rate_limits"
CONNECT_TIMEOUT_SECONDS = 10
APPLICATION_NAME = "analytics-pipeline rate limiter"
CREATION_LOCK = 0x616E616C79746963
"""An advisory lock key (the bytes of "analytic"): two processes creating the table at once collide."""

TABLE_EXISTS = "select to_regclass('analytics_pipeline_rate_limits') is not null"
LOCK_CREATION = "select pg_advisory_xact_lock(%s)"
CREATE_TABLE = """
create table if not exists analytics_pipeline_rate_limits (
    token_fingerprint text primary key,
    tat double precision,
    updated_at timestamptz not null default clock_timestamp()
)
"""
COMMENTS = (
    """
    comment on table analytics_pipeline_rate_limits is
        'The analytics-pipeline rate limiter: one row per API token, its GCRA theoretical arrival time'
    """,
    """
    comment on column analytics_pipeline_rate_limits.token_fingerprint is
        'A one-way digest of the token (never the token itself)'
    """,
    """
    comment on column analytics_pipeline_rate_limits.tat is
        'Theoretical arrival time in seconds since the Unix epoch, by the clients'' clocks; NULL: never used'
    """,
)
ENSURE_ROW = """
insert into analytics_pipeline_rate_limits (token_fingerprint) values (%s)
on conflict (token_fingerprint) do nothing
"""
LOCK_ROW = "select tat from analytics_pipeline_rate_limits where token_fingerprint = %s for update"
STORE_TAT = """
update analytics_pipeline_rate_limits set tat = %s, updated_at = clock_timestamp()
where token_fingerprint = %s
"""

_DROPPED = (psycopg2.OperationalError, psycopg2.InterfaceError)
"""What psycopg2 raises when the connection is gone (the server restarted, the network dropped)."""


class LimiterStateUnavailable(PipelineError):
    """The PostgreSQL of ``ANALYTICS_STATE_URL`` failed during a run, after it had answered."""

    transient = True


class PostgresLimiterState:
    """A limiter's TAT in the row of ``token``'s fingerprint in :data:`TABLE` (see the module)."""

    def __init__(self, url: StateUrl, token: Secret) -> None:
        self.url = url
        self.fingerprint = token.fingerprint()
        self._connection: Any = None
        self._connected_before = False
        # One connection carries one transaction at a time: threads sharing this state take turns.
        self._mutex = threading.Lock()

    def __repr__(self) -> str:
        return f"PostgresLimiterState({self.url.display!r}, fingerprint={self.fingerprint!r})"

    def verify(self) -> None:
        """Connect (creating the table if missing) and disconnect; or a one-line :class:`ConfigError`."""
        with self._mutex:
            self._connect()
            self._drop()

    def update(self, step: Callable[[float | None], tuple[float, T]]) -> T:
        """Call ``step`` with the stored TAT under the row lock, store the TAT it returns; its result."""
        with self._mutex:
            attempts = 2  # a dropped connection is opened again, once
            while True:
                attempts -= 1
                try:
                    return self._update(step)
                except psycopg2.Error as exc:
                    failure, dropped = self._failed(exc), isinstance(exc, _DROPPED)
                if not (dropped and attempts):
                    raise failure  # outside the handler: the driver's exception is not even its context

    def close(self) -> None:
        """Close the connection; the next update opens another."""
        with self._mutex:
            self._drop()

    def _update(self, step: Callable[[float | None], tuple[float, T]]) -> T:
        connection = self._connect()
        with connection, connection.cursor() as cursor:  # one transaction: committed, or rolled back
            cursor.execute(ENSURE_ROW, (self.fingerprint,))
            cursor.execute(LOCK_ROW, (self.fingerprint,))
            (stored,) = cursor.fetchone()
            tat, result = step(None if stored is None else float(stored))
            cursor.execute(STORE_TAT, (tat, self.fingerprint))
        return result

    def _connect(self) -> Any:
        """The open connection; one is opened (and the table created) if there is none."""
        if self._connection is not None and not self._connection.closed:
            return self._connection
        self._connection = None
        try:
            connection = psycopg2.connect(
                self.url.reveal(), connect_timeout=CONNECT_TIMEOUT_SECONDS, application_name=APPLICATION_NAME
            )
        except psycopg2.Error as exc:
            failure = self._unusable(exc)
        else:
            try:
                _create_table(connection)
            except psycopg2.Error as exc:
                connection.close()
                failure = self._unusable(exc)
            else:
                self._connection, self._connected_before = connection, True
                return connection
        raise failure  # outside the handler: the driver's exception is not even its context

    def _unusable(self, exc: psycopg2.Error) -> PipelineError:
        """The error of a failed connection: the configuration's, unless one worked before here."""
        if self._connected_before:
            return LimiterStateUnavailable(
                f"cannot reconnect to the rate limiter's PostgreSQL ({self._where()}): {self._reason(exc)}"
            )
        return ConfigError(
            f"cannot use the PostgreSQL of {VARIABLE} ({self._where()}): {self._reason(exc)}; "
            "check the URL's host, port, user and password, and that the server accepts connections"
        )

    def _failed(self, exc: psycopg2.Error) -> PipelineError:
        """The error of a failed update; the connection is dropped, the next update opens another."""
        self._drop()
        return LimiterStateUnavailable(
            f"the rate limiter's PostgreSQL ({self._where()}) failed: {self._reason(exc)}"
        )

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(psycopg2.Error):  # already gone
                connection.close()

    def _where(self) -> str:
        """The server and database, for messages: never the password."""
        parts = urlsplit(self.url.reveal())
        host = parts.hostname or "the local socket"
        port = f":{parts.port}" if parts.port else ""
        database = parts.path.lstrip("/") or "the default database"
        return self.url.redact(f"{host}{port}/{database}")

    def _reason(self, exc: psycopg2.Error) -> str:
        """The driver's message on one line, the password masked should it echo it."""
        return self.url.redact(" ".join(str(exc).split())) or type(exc).__name__


def _create_table(connection: Any) -> None:
    """Create :data:`TABLE` unless it exists (a role may use the table without the right to create one)."""
    with connection, connection.cursor() as cursor:
        cursor.execute(TABLE_EXISTS)
        if cursor.fetchone()[0]:
            return
        cursor.execute(LOCK_CREATION, (CREATION_LOCK,))
        cursor.execute(CREATE_TABLE)
        for comment in COMMENTS:
            cursor.execute(comment)
