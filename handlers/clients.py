"""Who is calling: the client address (for throttles) and the anonymous rate limit."""

from __future__ import annotations

from aiohttp import web

from server.keys import AUTH_USER, CONFIG, RATE_LIMITER


def client_address(request: web.Request) -> str:
    """The client's address: ``request.remote``, or the address our trusted proxy appended.

    ``X-Forwarded-For`` counts only when ``server.trust_forwarded_for`` is set, and then only
    its last entry (the one the proxy in front of us wrote; earlier ones are client-supplied).
    """
    if request.app[CONFIG].server.trust_forwarded_for:
        forwarded = request.headers.get("X-Forwarded-For", "")
        last = forwarded.rsplit(",", 1)[-1].strip()
        if last:
            return last[:64]
    return request.remote or "unknown"


def over_tls(request: web.Request) -> bool:
    """Whether the client's connection is TLS: our own listener's, or — behind the trusted
    proxy (``server.trust_forwarded_for``) — what its last ``X-Forwarded-Proto`` says. A
    TLS-terminating proxy talks plain HTTP to us, so ``request.secure`` alone is False."""
    if request.secure:
        return True
    if request.app[CONFIG].server.trust_forwarded_for:
        proto = request.headers.get("X-Forwarded-Proto", "")
        return proto.rsplit(",", 1)[-1].strip().lower() == "https"
    return False


async def limit_per_client(request: web.Request, bucket: str) -> None:
    """Apply ``limits.anonymous_requests_per_minute`` per client address (per user if signed in).

    Raises RateLimited (429 with Retry-After) over the limit.
    """
    user = request.get(AUTH_USER)
    key = f"user:{user.id}" if user is not None else f"addr:{client_address(request)}"
    limit = request.app[CONFIG].limits.anonymous_requests_per_minute
    await request.app[RATE_LIMITER].hit(bucket, key, limit=limit, window_s=60.0)
