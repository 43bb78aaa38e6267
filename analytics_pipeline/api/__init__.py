"""The Analytics API: the client, its one paginator, retry policy and rate limiter, the errors and the
endpoint table.

Errors (all in :mod:`analytics_pipeline.api.errors`)::

    ApiError
    ├── InvalidRequest          400, or refused before sending (date rules)
    ├── Unauthorized            401
    ├── Forbidden               403
    ├── NotFound                404 (the base URL is not the API's root)
    ├── RateLimited             429 (retried)
    ├── ServerError             5xx (retried)
    ├── TransportError          no response: connection, timeout (retried)
    └── MalformedResponse       2xx with a body that is not the documented JSON (retried)
        └── RepeatedCursor      a paging loop (not retried)
"""

from analytics_pipeline.api._client import AnalyticsClient, Page
from analytics_pipeline.api._retry import RetryPolicy
from analytics_pipeline.api.endpoints import (
    BY_NAME,
    BY_PATH,
    ENDPOINTS,
    LANDED,
    Endpoint,
    Shape,
    endpoint,
)
from analytics_pipeline.api.errors import (
    ApiError,
    Forbidden,
    InvalidRequest,
    MalformedResponse,
    NotFound,
    RateLimited,
    RepeatedCursor,
    ServerError,
    TransportError,
    Unauthorized,
    error_for_status,
)
from analytics_pipeline.api.ratelimit import RateLimiter

__all__ = [
    "BY_NAME",
    "BY_PATH",
    "ENDPOINTS",
    "LANDED",
    "AnalyticsClient",
    "ApiError",
    "Endpoint",
    "Forbidden",
    "InvalidRequest",
    "MalformedResponse",
    "NotFound",
    "Page",
    "RateLimited",
    "RateLimiter",
    "RepeatedCursor",
    "RetryPolicy",
    "ServerError",
    "Shape",
    "TransportError",
    "Unauthorized",
    "endpoint",
    "error_for_status",
]
