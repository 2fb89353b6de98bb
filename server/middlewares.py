"""The one middleware, ``edge``: request id, metrics, errors, headers, access log, and the
admission of each request (authentication, CSRF, load shedding).

One layer on purpose: each middleware costs every request a coroutine, and aiohttp adds its
own layer whenever an app has any."""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from db.pool import is_unavailable as is_db_unavailable
from handlers.clients import over_tls
from handlers.common import json_response
from server.keys import AUTH_USER, AUTHENTICATOR, CONFIG, METRICS, REQUEST_ID
from server.logs import request_id_var
from server.route_info import RouteInfo, route_info
from server.shedding import shed_check
from services.auth_user import Authenticator, AuthUser
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


# One year; subdomains are left to the operator (they may serve plain HTTP on purpose).
HSTS = "max-age=31536000"


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


def _reset_request_ids() -> None:
    global _id_prefix, _id_counter
    _id_prefix = secrets.token_hex(6)
    _id_counter = itertools.count(1)


_id_prefix = ""
_id_counter = itertools.count(1)
_reset_request_ids()
os.register_at_fork(after_in_child=_reset_request_ids)


def new_request_id() -> str:
    """A process-unique id without a syscall per request: random prefix + counter."""
    return f"{_id_prefix}-{next(_id_counter):08x}"


@web.middleware
async def edge(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Everything around a request: request id (echoed in ``X-Request-ID``), metrics and the
    in-flight registry, admission (:func:`admit`), errors turned into problem details,
    security headers, and the access log line."""
    incoming = request.headers.get("X-Request-ID")
    rid = incoming if incoming and _VALID_REQUEST_ID.match(incoming) else new_request_id()
    request[REQUEST_ID] = rid
    token = request_id_var.set(rid)
    info = route_info(request)
    metrics = request.app.get(METRICS)
    started = time.perf_counter()
    key = id(request)
    if metrics is not None:
        metrics.inflight.start(
            key, f"{request.method} {info.metric_route}", started, stream=_is_stream(request, info)
        )
    status = 500
    try:
        try:
            pending = admit(request, info)
            if pending is not None:  # the token was not in this process's memory
                await pending
            response = await handler(request)
        except Exception as exc:
            problem_response = error_response(request, exc)
            if problem_response is None:
                raise
            response = problem_response
        status = response.status
        if not response.prepared:
            add_security_headers(request, response)
            response.headers["X-Request-ID"] = rid
        return response
    except web.HTTPException as exc:  # a redirect passes through
        status = exc.status
        raise
    finally:
        ended = time.perf_counter()
        if metrics is not None:
            metrics.inflight.finish(key, ended)
            metrics.observe_request(info.metric_route, request.method, status, ended - started)
        if access_log.isEnabledFor(logging.INFO):
            access_log.info(
                "%s %s %s",
                request.method,
                request.path,
                status,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "route": info.canonical,
                    "status": status,
                    "duration_ms": round((ended - started) * 1000, 2),
                },
            )
        request_id_var.reset(token)


def _is_stream(request: web.Request, info: RouteInfo) -> bool:
    """An SSE route or a WebSocket upgrade: long-lived, mostly idle."""
    return info.stream or request.headers.get("Upgrade", "").lower() == "websocket"


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


def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """nosniff everywhere, no-store on API data, a strict CSP on pages, HSTS over TLS."""
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Frame-Options", "DENY")
    if request.path.startswith("/api/") or request.get(AUTH_USER) is not None:
        headers.setdefault("Cache-Control", "no-store")
    # A FileResponse (the web app's index.html) learns its type only in prepare(), after
    # this runs: a response of unknown type gets the CSP too (harmless on non-pages).
    ctype = headers.get("Content-Type", "")
    if not ctype or ctype.startswith("text/html"):
        headers.setdefault("Content-Security-Policy", CSP)
    if over_tls(request):
        headers.setdefault("Strict-Transport-Security", HSTS)


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


def admit(request: web.Request, info: RouteInfo) -> Awaitable[None] | None:
    """Authenticate the request and enforce the route's auth/admin needs and CSRF; then
    refuse new heavy work while the loop lags (after auth, so a stranger still gets 401).

    Raises the refusal. Returns None when done, or an awaitable that finishes the job when
    the token has to be looked up in Redis/PostgreSQL: a token this process remembers
    (nearly every request) is admitted without creating a coroutine."""
    if request.query_string and ("access_token" in request.query or "token" in request.query):
        raise Unauthorized("Tokens are not accepted in the URL; use the Authorization header.")
    token, via_cookie = presented_token(request)
    authenticator = request.app.get(AUTHENTICATOR) if token else None
    user = None
    if token and authenticator is not None:
        user = authenticator.remembered(token, via_cookie=via_cookie)
        if user is None:
            return _admit_looked_up(request, info, authenticator, token, via_cookie)
    _enforce(request, info, token, user, via_cookie=via_cookie)
    return None


async def _admit_looked_up(
    request: web.Request,
    info: RouteInfo,
    authenticator: Authenticator,
    token: str,
    via_cookie: bool,
) -> None:
    user = await authenticator.authenticate(token, via_cookie=via_cookie)
    _enforce(request, info, token, user, via_cookie=via_cookie)


def _enforce(
    request: web.Request,
    info: RouteInfo,
    token: str | None,
    user: AuthUser | None,
    *,
    via_cookie: bool,
) -> None:
    """Attach *user* (None: anonymous) and apply the route's needs, CSRF and shedding."""
    doc = info.doc
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
    if info.shed_kind is not None:
        shed_check(request.app, info.shed_kind)


MIDDLEWARES = [edge]
