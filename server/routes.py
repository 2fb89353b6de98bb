"""Every route, registered in one place, each with a name."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from handlers import accounts, docs, health, passwords

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
    r.add_get("/metrics", docs.metrics, name="metrics")

    r.add_post("/api/v1/auth/register", accounts.register, name="auth.register")
    r.add_post("/api/v1/auth/login", accounts.login, name="auth.login")
    r.add_post("/api/v1/auth/logout", accounts.logout, name="auth.logout")
    r.add_get("/api/v1/me", accounts.get_me, name="me.get")
    r.add_patch("/api/v1/me", accounts.patch_me, name="me.patch")
    r.add_post("/api/v1/passwords/analyze", passwords.analyze, name="passwords.analyze")
    r.add_post("/api/v1/passwords/generate", passwords.generate, name="passwords.generate")

    r.add_get("/", index, name="webapp.index")
    r.add_static("/static/", STATIC_DIR, name="static", follow_symlinks=False)
