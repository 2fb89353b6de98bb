"""The API documents (OpenAPI for REST, AsyncAPI for events) and their pages."""

from __future__ import annotations

import re
import weakref

import orjson
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST

from handlers.asyncapi import build_asyncapi
from handlers.asyncapi_html import nav, render_asyncapi_html
from handlers.common import api, json_response
from handlers.keys import CONFIG, METRICS
from handlers.metrics_access import metrics_allowed
from handlers.openapi import build_openapi
from services.errors import Forbidden

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


# Built once per application, on first use: the routes cannot change once it serves, and
# building took ~24 ms of event-loop time per request (4 clients fetching the document
# raised /health/live's p50 from 1.6 to 87 ms; security review 2026-12-07, finding 4).
_openapi_bytes: weakref.WeakKeyDictionary[web.Application, bytes] = weakref.WeakKeyDictionary()


def _openapi(app: web.Application) -> bytes:
    done = _openapi_bytes.get(app)
    if done is None:
        document = build_openapi(app)
        done = orjson.dumps(document, default=str, option=orjson.OPT_NON_STR_KEYS)
        _openapi_bytes[app] = done
    return done


@api("This OpenAPI document", auth=False, tags=("docs",))
async def openapi_json(request: web.Request) -> web.Response:
    return web.Response(
        body=_openapi(request.app), content_type="application/json", charset="utf-8"
    )


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
    body = request.app[METRICS].render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
