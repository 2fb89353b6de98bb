"""The API documents (OpenAPI for REST, AsyncAPI for events) and their pages."""

from __future__ import annotations

import re

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from handlers.asyncapi import build_asyncapi
from handlers.asyncapi_html import nav, render_asyncapi_html
from handlers.common import api, json_response
from handlers.keys import CONFIG, METRICS
from handlers.openapi import build_openapi

# Swagger UI from static/vendor/ (see `make vendor`) plus an external start-up script:
# no inline script or style, so the strict Content-Security-Policy needs no exception.
SWAGGER_PAGE = (
    "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
    "<meta name='viewport' content='width=device-width, initial-scale=1'>"
    "<title>FluentPro API</title>"
    "<link rel='stylesheet' href='/static/vendor/swagger-ui/swagger-ui.css'>"
    "<link rel='stylesheet' href='/static/docs.css'></head><body>"
    + nav("rest")
    + "<main id='swagger-ui'></main>"
    "<script src='/static/vendor/swagger-ui/swagger-ui-bundle.js'></script>"
    "<script src='/static/docs/swagger-init.js'></script></body></html>"
)


_HOST = re.compile(r"[A-Za-z0-9.\-]{1,253}(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]{2,45}\](:[0-9]{1,5})?")


def _host(request: web.Request) -> str:
    """The Host the client used (the documents name the server it reached), if sane."""
    host = request.host
    if _HOST.fullmatch(host):
        return host
    cfg = request.app[CONFIG].server
    return f"{cfg.host}:{cfg.port}"


@api("This OpenAPI document", auth=False, tags=("docs",))
async def openapi_json(request: web.Request) -> web.Response:
    return json_response(build_openapi(request.app))


@api(
    "The AsyncAPI 3.0 document of the SSE streams and the WebSocket",
    auth=False,
    tags=("docs",),
)
async def asyncapi_json(request: web.Request) -> web.Response:
    return json_response(build_asyncapi(_host(request), tls=request.secure))


@api(
    "Interactive REST documentation (Swagger UI)",
    auth=False,
    content_type="text/html",
    tags=("docs",),
)
async def docs_page(request: web.Request) -> web.Response:
    return web.Response(text=SWAGGER_PAGE, content_type="text/html")


@api(
    "The event channels (AsyncAPI), for people",
    auth=False,
    content_type="text/html",
    tags=("docs",),
)
async def events_page(request: web.Request) -> web.Response:
    doc = build_asyncapi(_host(request), tls=request.secure)
    return web.Response(text=render_asyncapi_html(doc), content_type="text/html")


@api("Prometheus metrics (text format)", auth=False, content_type="text/plain", tags=("ops",))
async def metrics(request: web.Request) -> web.Response:
    body = request.app[METRICS].render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
