"""What the middlewares need to know about a matched route, worked out once per route.

The edge middleware, request admission and load shedding all ask the same questions of
every request (the route template, its API doc, whether it is a long-lived stream, whether
it is shed under load); answering them from a per-route cache keeps the hot path short.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from handlers.shedding import shed_kind

UNMATCHED = "unmatched"


@dataclass(frozen=True, slots=True)
class RouteInfo:
    canonical: str | None  # the route template; None when nothing matched (404/405)
    doc: Any  # handlers.common.ApiDoc of the handler, or None
    stream: bool  # an SSE route: long-lived and mostly idle
    shed_kind: str | None  # refused under load as this kind, or None

    @property
    def metric_route(self) -> str:
        return self.canonical if self.canonical is not None else UNMATCHED


_UNMATCHED_INFO = RouteInfo(None, None, False, None)
# Weak keys: the test suite builds many apps in one process; their routes must not pile up.
_cache: weakref.WeakKeyDictionary[web.AbstractRoute, RouteInfo] = weakref.WeakKeyDictionary()


def route_info(request: web.Request) -> RouteInfo:
    route = request.match_info.route
    info = _cache.get(route)
    if info is not None:
        return info
    resource = route.resource
    if resource is None:  # a fresh SystemRoute per unmatched request: do not cache it
        return _UNMATCHED_INFO
    doc = getattr(route.handler, "__api__", None)
    info = RouteInfo(
        canonical=resource.canonical,
        doc=doc,
        stream=doc is not None and getattr(doc, "content_type", "") == "text/event-stream",
        shed_kind=shed_kind(request),
    )
    _cache[route] = info
    return info
