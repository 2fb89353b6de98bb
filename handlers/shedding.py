"""Load shedding at the edge: which routes are refused while the loop lags, and the check.

``shed_check`` is called by the request admission (``handlers.middlewares.admit``) for the
route kinds below (after auth, so unauthenticated requests still get their 401) and for
work that starts inside an open connection (a WebSocket chat message). The decision
itself (lag samples, hysteresis) is ``services.observability.shedding.LoadShedder``.
"""

from __future__ import annotations

from aiohttp import web

from handlers.keys import SHEDDER

SSE, WS, AI = "sse", "ws", "ai"

# Routes refused while shedding, by route name, with the kind they are counted under.
ROUTE_KINDS: dict[str, str] = {
    "ws": WS,
    "tasks.events": SSE,
    "onboarding.progress.stream": SSE,
    "recommendations.courses": AI,  # an SSE stream of AI work
    "recommendations.roles": AI,
    "recommendations.roles.get": AI,
    "learning_paths.create": AI,
    "tasks.create": AI,
}
# Operators watch the overload through the system stream: never shed it.
EXEMPT_ROUTES = frozenset({"system.stream"})


def shed_check(app: web.Application, kind: str) -> None:
    """``check(kind)`` on the app's shedder (an app without one never sheds)."""
    shedder = app.get(SHEDDER)
    if shedder is not None:
        shedder.check(kind)


def shed_kind(request: web.Request) -> str | None:
    """The kind a request is shed as, or None when it is always served."""
    name = request.match_info.route.name
    if name in EXEMPT_ROUTES:
        return None
    kind = ROUTE_KINDS.get(name or "")
    if kind is not None:
        return kind
    doc = getattr(request.match_info.handler, "__api__", None)
    if doc is not None and getattr(doc, "content_type", "") == "text/event-stream":
        return SSE  # a stream route added later is covered too
    return None
