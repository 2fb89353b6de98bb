"""Every route, registered in one place, each with a name."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from handlers import docs, health

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


async def index(request: web.Request) -> web.FileResponse:
    """The single-page web app."""
    return web.FileResponse(STATIC_DIR / "index.html")


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/health/live", health.live, name="health.live")
    r.add_get("/health/ready", health.ready, name="health.ready")
    r.add_get("/api/openapi.json", docs.openapi_json, name="docs.openapi")
    r.add_get("/api/docs", docs.docs_page, name="docs.page")

    r.add_get("/", index, name="webapp.index")
    r.add_static("/static/", STATIC_DIR, name="static", follow_symlinks=False)
