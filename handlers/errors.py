"""Domain errors as the edge reports them: the WebSocket ``error`` codes.

One mapping from an exception to what a client is told, so REST, SSE and WebSocket say
the same thing for the same failure.
"""

from __future__ import annotations

from redis.exceptions import RedisError

from services.errors import DomainError, Forbidden, NotFound, RateLimited, ValidationFailed


def error_code(exc: BaseException) -> tuple[str, str]:
    """The ``error`` code and message for an exception (domain errors mapped in one place)."""
    if isinstance(exc, NotFound):
        return "not_found", exc.detail
    if isinstance(exc, Forbidden):
        return "forbidden", exc.detail
    if isinstance(exc, ValidationFailed):
        return "invalid_fields", exc.detail
    if isinstance(exc, RateLimited):
        return "rate_limited", exc.detail
    if isinstance(exc, DomainError) and exc.status == 503:
        return "unavailable", exc.detail
    if isinstance(exc, DomainError) and exc.status < 500:
        return "bad_request", exc.detail
    if isinstance(exc, (RedisError, OSError, TimeoutError)):
        return "unavailable", "A dependency is unavailable; retry shortly."
    return "internal", "An unexpected error occurred."
