"""The OpenAPI document and a human-readable page."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from handlers.common import api, json_response
from handlers.keys import METRICS
from handlers.openapi import build_openapi, render_docs_html


@api("This OpenAPI document", auth=False, tags=("docs",))
async def openapi_json(request: web.Request) -> web.Response:
    return json_response(build_openapi(request.app))


@api("Human-readable API documentation", auth=False, content_type="text/html", tags=("docs",))
async def docs_page(request: web.Request) -> web.Response:
    return web.Response(text=render_docs_html(build_openapi(request.app)), content_type="text/html")


@api("Prometheus metrics (text format)", auth=False, content_type="text/plain", tags=("ops",))
async def metrics(request: web.Request) -> web.Response:
    body = request.app[METRICS].render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
