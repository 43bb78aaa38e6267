"""A deadline for each HTTP attempt as a whole: connecting, sending, the headers and the body.

httpx's timeouts bound each network operation, not an attempt: a server that trickles its answer a
byte at a time, each within the read timeout, keeps an attempt waiting forever. :func:`deadline` sets
the attempt's deadline (in a context variable: the client is synchronous, so an attempt runs in one
thread and context from start to end), and the network backend :func:`install` puts into the client's
connection pools gives every connect, TLS handshake, read and write at most the time left until it.
Past it, the operation fails with httpcore's own timeout error, which httpx maps to its
``TimeoutException`` as it does any other timeout.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx


@dataclass(frozen=True)
class _Deadline:
    seconds: float
    """The attempt's allowance (for the message)."""
    at: float
    """When it passes, on ``time.monotonic``."""

    @property
    def message(self) -> str:
        return f"no complete answer within {self.seconds:g} s"

    def left(self) -> float:
        return self.at - time.monotonic()


_CURRENT: ContextVar[_Deadline | None] = ContextVar("analytics_pipeline_attempt_deadline", default=None)


@contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Bound every network operation inside the block by ``seconds`` from now, in all."""
    token = _CURRENT.set(_Deadline(seconds, time.monotonic() + seconds))
    try:
        yield
    finally:
        _CURRENT.reset(token)


def _bounded(timeout: float | None, error: type[httpcore.TimeoutException]) -> float | None:
    """``timeout`` cut to the time left before the deadline; ``error`` when none is left."""
    current = _CURRENT.get()
    if current is None:
        return timeout
    left = current.left()
    if left <= 0:
        raise error(current.message)
    return left if timeout is None else min(timeout, left)


@contextmanager
def _explained() -> Iterator[None]:
    """A timeout that fired because the deadline passed says so, instead of "timed out"."""
    try:
        yield
    except httpcore.TimeoutException as exc:
        current = _CURRENT.get()
        if current is not None and current.left() <= 0:
            raise type(exc)(current.message) from exc
        raise


class _DeadlineStream(httpcore.NetworkStream):
    """A network stream whose every operation ends by the current deadline."""

    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        with _explained():
            return self._stream.read(max_bytes, _bounded(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        with _explained():
            self._stream.write(buffer, _bounded(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        with _explained():
            bounded = _bounded(timeout, httpcore.ConnectTimeout)
            return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, bounded))

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """Wraps a network backend (httpcore's default one) so its streams keep the current deadline."""

    def __init__(self, backend: httpcore.NetworkBackend) -> None:
        self.backend = backend

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        with _explained():
            bounded = _bounded(timeout, httpcore.ConnectTimeout)
            return _DeadlineStream(
                self.backend.connect_tcp(host, port, bounded, local_address, socket_options)
            )

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        with _explained():
            bounded = _bounded(timeout, httpcore.ConnectTimeout)
            return _DeadlineStream(self.backend.connect_unix_socket(path, bounded, socket_options))

    def sleep(self, seconds: float) -> None:
        self.backend.sleep(seconds)


def install(client: httpx.Client) -> int:
    """Put the deadline backend into every connection pool of ``client``; returns how many it changed.

    The one place this project reaches into httpx and httpcore internals (``test_client`` pins it):
    httpx 0.28 takes no network backend, and builds its transports itself, the proxies named by
    ``HTTPS_PROXY`` and the like included. Passing our own transport instead would turn those proxies
    off. Every pool of an ``httpx.HTTPTransport`` is an ``httpcore`` pool that creates its connections
    with its ``_network_backend``; other transports (a test's ``MockTransport``) open no connection
    and are left alone.
    """
    transports = [client._transport, *client._mounts.values()]
    changed = 0
    for transport in transports:
        if not isinstance(transport, httpx.HTTPTransport):
            continue
        pool = transport._pool
        if not isinstance(getattr(pool, "_network_backend", None), httpcore.NetworkBackend):
            raise RuntimeError(
                f"httpx/httpcore changed: {type(pool).__name__} has no _network_backend to bound by a "
                "deadline; update analytics_pipeline/api/_deadline.py"
            )
        if not isinstance(pool._network_backend, DeadlineBackend):
            pool._network_backend = DeadlineBackend(pool._network_backend)
            changed += 1
    return changed
