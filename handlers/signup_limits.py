"""Rate limits on account creation: per client address and for the whole service.

Each sign-up costs a bcrypt hash and a fresh set of per-user caps (streams, AI quota,
tasks), so an unbounded ``register`` lets one client drain the CPU pool and multiply every
per-user limit (security review 2026-12-07, finding 3). The counters live in Redis (shared
by every process) and fall back to the process when Redis is down, like the login throttle.
"""

from __future__ import annotations

from aiohttp import web

from handlers.clients import client_address
from server.keys import CONFIG, RATE_LIMITER

WINDOW_S = 60.0


async def limit_registration(request: web.Request) -> None:
    """Count one sign-up; RateLimited (429 + Retry-After) over either limit."""
    limits = request.app[CONFIG].limits
    limiter = request.app[RATE_LIMITER]
    await limiter.hit(
        "register-addr",
        client_address(request),
        limit=limits.register_per_address_per_minute,
        window_s=WINDOW_S,
    )
    await limiter.hit("register-all", "*", limit=limits.register_per_minute, window_s=WINDOW_S)
