"""Exceptions as a client is told about them, in one place for every channel.

- REST and SSE (before the stream starts): an RFC 9457 problem (``error_response``), built
  by ``problem`` — the middleware calls it for whatever a handler raises;
- a stream that already started (NDJSON): a final error line (``stream_error``);
- WebSocket: an ``error`` message code (``error_code``).

Domain errors (``services/errors.py``) carry their status and text; a database or Redis
that is unreachable is a 503, never a 500.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from db.pool import is_unavailable as is_db_unavailable
from handlers.common import json_response
from handlers.keys import REQUEST_ID
from services.errors import (
    DomainError,
    Forbidden,
    NotFound,
    RateLimited,
    Unavailable,
    ValidationFailed,
)

log = logging.getLogger(__name__)

PROBLEM_TYPE = "https://fluentpro.dev/problems/"


def problem(
    status: int,
    title: str,
    detail: str,
    request: web.Request,
    *,
    errors: Any = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> web.Response:
    """An RFC 9457 problem-details response."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + title.lower().replace(" ", "-"),
        "title": title,
        "status": status,
        "detail": detail,
        "request_id": request.get(REQUEST_ID, "-"),
    }
    if errors:
        body["errors"] = errors
    if extra:
        body.update(extra)
    try:
        resp = json_response(body, status=status, headers=headers)
    except TypeError:  # text orjson refuses (e.g. a lone surrogate echoed from input)
        safe = json.dumps(body, default=str, ensure_ascii=True).encode()
        resp = web.Response(body=safe, status=status, headers=headers)
    resp.content_type = "application/problem+json"
    return resp


def error_response(request: web.Request, exc: Exception) -> web.Response | None:
    """The problem-details response for *exc*; None for what is not an error (a redirect).
    Call it inside the ``except`` block: a 500 is logged with the active traceback."""
    if isinstance(exc, DomainError):
        return problem(
            exc.status,
            exc.title,
            exc.detail,
            request,
            errors=exc.errors,
            headers=exc.headers,
            extra=exc.extra,
        )
    if isinstance(exc, web.HTTPException):
        if exc.status < 400:
            return None
        headers = {k: v for k, v in exc.headers.items() if k.lower() in ("allow", "retry-after")}
        return problem(exc.status, exc.reason, _http_detail(exc), request, headers=headers)
    if dependency_unavailable(exc):
        log.warning(
            "dependency unavailable on %s %s: %s",
            request.method,
            request.path,
            exc.__class__.__name__,
        )
        return problem(
            503,
            "Service Unavailable",
            "A dependency (database or cache) is unavailable; retry shortly.",
            request,
            headers={"Retry-After": "5"},
        )
    log.exception("unhandled error on %s %s", request.method, request.path)
    return problem(500, "Internal Server Error", "An unexpected error occurred.", request)


def dependency_unavailable(exc: BaseException) -> bool:
    """PostgreSQL or Redis unreachable or too slow: a documented 503, not a 500."""
    return is_db_unavailable(exc) or isinstance(
        exc, (RedisConnectionError, RedisTimeoutError, ConnectionError)
    )


def _http_detail(exc: web.HTTPException) -> str:
    if exc.status == 404:
        return "No such resource."
    if exc.status == 405:
        return "This method is not allowed here; see the Allow header."
    if exc.status == 413:
        return "The request body is too large."
    return exc.reason


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
    if dependency_unavailable(exc) or isinstance(exc, (RedisError, OSError, TimeoutError)):
        return "unavailable", "A dependency is unavailable; retry shortly."
    return "internal", "An unexpected error occurred."


def stream_error(exc: Exception, fallback: str) -> dict[str, Any]:
    """The final line of an NDJSON stream that failed after its 200 went out: a domain
    error says what it says; anything else says ``fallback`` and no more."""
    if isinstance(exc, DomainError):
        error: dict[str, Any] = {"message": exc.detail, "fallback_available": False}
        if exc.errors:
            error["details"] = exc.errors
        if isinstance(exc, Unavailable):
            error["details"] = {"retry_after_s": exc.retry_after}
        return {"error": error}
    return {
        "error": {
            "message": fallback,
            "details": {"produced_until": "see the lines above"},
            "fallback_available": False,
        }
    }
