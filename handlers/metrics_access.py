"""Who may read ``/metrics`` (security review 2026-12-07, finding 12: it was open to anyone,
and it names routes, error rates and connection counts)."""

from __future__ import annotations

import hmac
import ipaddress

from aiohttp import web

from server.keys import CONFIG

_PROXY_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")


def metrics_allowed(request: web.Request) -> bool:
    """``server.metrics_access``: ``open``; ``token`` (the bearer FLUENTPRO_METRICS_TOKEN);
    ``local`` (default): the token, or a loopback peer whose request passed no proxy (a
    reverse proxy on the same host is a loopback peer too, but it adds forwarding headers)."""
    config = request.app[CONFIG]
    token = config.metrics_token
    if token:
        presented = request.headers.get("Authorization", "").encode()
        if hmac.compare_digest(presented, f"Bearer {token}".encode()):
            return True
    mode = config.server.metrics_access
    if mode == "open":
        return True
    if mode == "token" or any(h in request.headers for h in _PROXY_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.remote or "").is_loopback
    except ValueError:  # a unix socket has no address: only local processes reach it
        return request.remote == "" or request.remote is None
