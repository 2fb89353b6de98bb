"""The OpenAPI document and a human-readable page."""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import orjson
from aiohttp import web

from handlers.common import api
from handlers.metrics_access import metrics_allowed
from server.metrics import metrics_endpoint
from server.openapi import build_openapi, render_docs_html
from services.errors import Forbidden


@dataclass(frozen=True)
class _Rendered:
    openapi: bytes
    page: bytes


# Built once per application, on first use: the routes cannot change once it serves, and
# building took ~24 ms of event-loop time per request (4 clients fetching the document
# raised /health/live's p50 from 1.6 to 87 ms; security review 2026-12-07, finding 4).
_rendered: weakref.WeakKeyDictionary[web.Application, _Rendered] = weakref.WeakKeyDictionary()


def _documents(app: web.Application) -> _Rendered:
    done = _rendered.get(app)
    if done is None:
        document = build_openapi(app)
        done = _Rendered(
            openapi=orjson.dumps(document, default=str, option=orjson.OPT_NON_STR_KEYS),
            page=render_docs_html(document).encode("utf-8"),
        )
        _rendered[app] = done
    return done


@api("This OpenAPI document", auth=False, tags=("docs",))
async def openapi_json(request: web.Request) -> web.Response:
    return web.Response(
        body=_documents(request.app).openapi, content_type="application/json", charset="utf-8"
    )


@api("Human-readable API documentation", auth=False, content_type="text/html", tags=("docs",))
async def docs_page(request: web.Request) -> web.Response:
    return web.Response(
        body=_documents(request.app).page, content_type="text/html", charset="utf-8"
    )


@api(
    "Prometheus metrics (text format): loopback or the metrics token (server.metrics_access)",
    auth=False,
    content_type="text/plain",
    tags=("ops",),
    errors=(403,),
)
async def metrics(request: web.Request) -> web.Response:
    if not metrics_allowed(request):
        raise Forbidden(
            "Metrics are served to local scrapers or with the metrics token "
            "(Authorization: Bearer $FLUENTPRO_METRICS_TOKEN)."
        )
    return await metrics_endpoint(request)
