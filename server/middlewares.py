"""Middlewares, outermost first: request id + access log → headers → errors → auth."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from db.pool import is_unavailable as is_db_unavailable
from handlers.common import ApiDoc, json_response
from server.keys import AUTH_USER, AUTHENTICATOR, CONFIG, REQUEST_ID
from server.logs import request_id_var
from server.metrics import metrics_middleware
from services.errors import DomainError, Forbidden, Unauthorized

log = logging.getLogger(__name__)
access_log = logging.getLogger("fluentpro.access")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
SESSION_COOKIE = "fp_session"
PROBLEM_TYPE = "https://fluentpro.dev/problems/"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Shown to people: the CSP for the web app allows only our own scripts and styles.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)


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


@web.middleware
async def request_context(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Assign the request id, log one access line, echo ``X-Request-ID``."""
    incoming = request.headers.get("X-Request-ID", "")
    rid = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
    request[REQUEST_ID] = rid
    token = request_id_var.set(rid)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        if not response.prepared:
            response.headers["X-Request-ID"] = rid
        return response
    finally:
        route = request.match_info.route.resource
        access_log.info(
            "%s %s %s",
            request.method,
            request.path,
            status,
            extra={
                "method": request.method,
                "path": request.path,
                "route": route.canonical if route is not None else None,
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            },
        )
        request_id_var.reset(token)


@web.middleware
async def error_handler(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every error into problem details; a 500 never shows internals."""
    try:
        return await handler(request)
    except DomainError as exc:
        return problem(
            exc.status,
            exc.title,
            exc.detail,
            request,
            errors=exc.errors,
            headers=exc.headers,
            extra=exc.extra,
        )
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {k: v for k, v in exc.headers.items() if k.lower() in ("allow", "retry-after")}
        detail = _http_detail(exc)
        return problem(exc.status, exc.reason, detail, request, headers=headers)
    except Exception as exc:
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


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """nosniff everywhere, no-store on API data, a strict CSP on pages."""
    response = await handler(request)
    if response.prepared:
        return response
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Frame-Options", "DENY")
    if request.path.startswith("/api/") or request.get(AUTH_USER) is not None:
        headers.setdefault("Cache-Control", "no-store")
    if response.content_type == "text/html":
        headers.setdefault("Content-Security-Policy", CSP)
    return response


def route_doc(request: web.Request) -> ApiDoc | None:
    handler = request.match_info.handler
    return getattr(handler, "__api__", None)


def presented_token(request: web.Request) -> tuple[str | None, bool]:
    """The bearer token or session cookie, and whether it came from the cookie."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise Unauthorized("Use 'Authorization: Bearer <token>'.")
        return value.strip(), False
    cookie = request.cookies.get(SESSION_COOKIE)
    return (cookie, True) if cookie else (None, False)


def same_origin(request: web.Request) -> bool:
    """CSRF defence for cookie-authenticated state changes (Origin / Sec-Fetch-Site)."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is None:
        referer = request.headers.get("Referer")
        if referer is None:
            return False
        parts = urlsplit(referer)
        origin = f"{parts.scheme}://{parts.netloc}"
    allowed = request.app[CONFIG].server.allowed_origins
    own = f"{request.scheme}://{request.host}"
    return origin == own or origin in allowed


@web.middleware
async def authentication(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Attach the user for a valid token; enforce the route's auth/admin needs and CSRF."""
    if "access_token" in request.query or "token" in request.query:
        raise Unauthorized("Tokens are not accepted in the URL; use the Authorization header.")
    doc = route_doc(request)
    token, via_cookie = presented_token(request)
    user = None
    if token:
        authenticator = request.app.get(AUTHENTICATOR)
        if authenticator is not None:
            user = await authenticator.authenticate(token, via_cookie=via_cookie)
    needs_auth = doc.auth if doc is not None else False
    cross_site = (
        user is not None
        and via_cookie
        and request.method not in _SAFE_METHODS
        and not same_origin(request)
    )
    if cross_site and not needs_auth:
        user = None  # a route open to everyone (login, register) runs anonymously instead
    if user is not None:
        request[AUTH_USER] = user
        if cross_site:
            raise Forbidden("Cross-site request refused (cookie authentication needs same origin).")
    elif needs_auth:
        raise Unauthorized(
            "The token is invalid, expired or revoked." if token else "Authentication required."
        )
    if doc is not None and doc.admin and (user is None or not user.is_admin):
        raise Forbidden("Administrators only.")
    return await handler(request)


MIDDLEWARES = [request_context, metrics_middleware, security_headers, error_handler, authentication]
