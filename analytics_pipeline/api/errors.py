"""Errors raised by the Analytics API client.

The hierarchy (under :class:`~analytics_pipeline.errors.PipelineError`, the root of the pipeline's errors;
exit code 1 unless said)::

    ApiError                    anything the API or the path to it did wrong
    ├── InvalidRequest          400, or a request the client refused to send (date rules, page size): 2
    ├── Unauthorized            401: missing or invalid token: 2
    ├── Forbidden               403: the token lacks permission: 2
    ├── NotFound                404: no such path at the base URL (it is not the API's root)
    ├── RateLimited             429: too many requests (retried, then raised)
    ├── ServerError             5xx (retried, then raised)
    ├── TransportError          no usable response: connection refused or dropped, timeout
    └── MalformedResponse       a 2xx whose body is not the JSON the endpoint documents
        └── RepeatedCursor      the API handed back a cursor it had already given (a paging loop)

Every error carries the HTTP ``status`` (None when no response was received) and, when the API sent
its documented error body ``{"error": {"code": ..., "message": ...}}``, that ``code`` and ``message``.
No error's text ever contains the token. Each also says what to do about it: ``transient`` when running
the same command again may succeed as it is, else, where it is known, a ``hint`` of what to change.
"""

from __future__ import annotations

from typing import Any

from analytics_pipeline.errors import FIX_INPUT, PipelineError


class ApiError(PipelineError):
    """Base class of every error the client raises."""

    status: int | None = None
    retryable: bool = False
    """Whether the client tries the request again (within one run)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        endpoint: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.code = code
        self.endpoint = endpoint
        self.retry_after = retry_after
        self.gave_up: str | None = None
        """Set by the client when it stopped retrying: after how many attempts, and why."""

    def __str__(self) -> str:
        where = f"{self.endpoint}: " if self.endpoint else ""
        status = f"HTTP {self.status} " if self.status is not None else ""
        code = f"{self.code}: " if self.code else ""
        gave_up = f"; {self.gave_up}" if self.gave_up else ""
        return f"{where}{status}{code}{self.message}{gave_up}"


class InvalidRequest(ApiError):
    """400: the request broke the API's rules (also raised before sending, by the client's own checks)."""

    status: int | None = 400
    exit_code = FIX_INPUT


class Unauthorized(ApiError):
    """401: the token is missing or invalid. Not retried."""

    status = 401
    exit_code = FIX_INPUT
    hint = "the API rejected the token (401): check AUGMENT_API_TOKEN"


class Forbidden(ApiError):
    """403: the token is valid but lacks permission. Not retried."""

    status = 403
    exit_code = FIX_INPUT
    hint = "the token lacks permission (403): use an Enterprise service-account token"


class NotFound(ApiError):
    """404: every path the client asks for exists at the API's root, so the base URL is not it."""

    status = 404
    hint = (
        "check AUGMENT_API_BASE_URL: it should be the API's root such as https://api.augmentcode.com, "
        "without /analytics/v0"
    )


class RateLimited(ApiError):
    """429: too many requests. Retried with backoff, honouring ``retry_after`` when sent."""

    status = 429
    retryable = True
    transient = True


class ServerError(ApiError):
    """5xx: the API failed. Retried with backoff."""

    status = 500
    retryable = True
    transient = True


class TransportError(ApiError):
    """No usable HTTP response (connection refused or dropped, timeout). Retried with backoff.

    Transient, but for the faults the client recognises as a wrong address (see its ``hint``).
    """

    retryable = True
    transient = True


class MalformedResponse(ApiError):
    """A successful status whose body is not the documented JSON (e.g. truncated). Retried."""

    retryable = True
    transient = True


class RepeatedCursor(MalformedResponse):
    """The API returned a cursor it had already returned: following it would loop forever."""

    retryable = False
    transient = False


def error_body(code: str, message: str) -> dict[str, Any]:
    """The API's documented error body (the sandbox answers with exactly this)."""
    return {"error": {"code": code, "message": message}}


_BY_STATUS: dict[int, type[ApiError]] = {
    400: InvalidRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    429: RateLimited,
}


def error_for_status(status: int) -> type[ApiError]:
    """The error class for an HTTP error status."""
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, ApiError)
