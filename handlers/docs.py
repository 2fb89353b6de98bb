"""The OpenAPI document and a human-readable page."""

from __future__ import annotations

from aiohttp import web

from handlers.common import json_response
from server.openapi import build_openapi, render_docs_html


async def openapi_json(request: web.Request) -> web.Response:
    return json_response(build_openapi(request.app))


async def docs_page(request: web.Request) -> web.Response:
    return web.Response(text=render_docs_html(build_openapi(request.app)), content_type="text/html")
