"""Every route, registered in one place, each with a name."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from handlers import (
    accounts,
    breakers,
    courses,
    docs,
    export,
    health,
    interactions,
    learning_paths,
    me_account,
    onboarding,
    passwords,
    recommendations,
    roles,
    system,
    system_admin,
    tasks,
)
from handlers.ws import endpoint as ws

# server/static: a link to the top-level static/ in a checkout, a copy in the wheel.
STATIC_DIR = Path(__file__).resolve().parent / "static"


async def index(request: web.Request) -> web.FileResponse:
    """The single-page web app."""
    return web.FileResponse(STATIC_DIR / "index.html")


def setup_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/health/live", health.live, name="health.live")
    r.add_get("/health/ready", health.ready, name="health.ready")
    r.add_get("/api/openapi.json", docs.openapi_json, name="docs.openapi")
    r.add_get("/api/asyncapi.json", docs.asyncapi_json, name="docs.asyncapi")
    r.add_get("/api/docs", docs.docs_page, name="docs.page")
    r.add_get("/api/docs/events", docs.events_page, name="docs.events")
    r.add_get("/metrics", docs.metrics, name="metrics")

    r.add_post("/api/v1/auth/register", accounts.register, name="auth.register")
    r.add_post("/api/v1/auth/login", accounts.login, name="auth.login")
    r.add_post("/api/v1/auth/logout", accounts.logout, name="auth.logout")
    r.add_get("/api/v1/me", accounts.get_me, name="me.get")
    r.add_patch("/api/v1/me", accounts.patch_me, name="me.patch")
    r.add_delete("/api/v1/me", me_account.delete_me, name="me.delete")
    r.add_post("/api/v1/me/password", me_account.change_password, name="me.password")
    r.add_get("/api/v1/me/sessions", me_account.list_sessions, name="me.sessions")
    r.add_delete(
        "/api/v1/me/sessions", me_account.revoke_other_sessions, name="me.sessions.revoke_others"
    )
    r.add_delete("/api/v1/me/sessions/{id}", me_account.revoke_session, name="me.sessions.revoke")
    r.add_post("/api/v1/passwords/analyze", passwords.analyze, name="passwords.analyze")
    r.add_post("/api/v1/passwords/generate", passwords.generate, name="passwords.generate")
    r.add_get("/api/v1/system/stream", system.system_stream, name="system.stream")
    r.add_get("/api/v1/system/status", system.system_status, name="system.status")
    r.add_get("/api/v1/system/history", system_admin.history, name="system.history")
    r.add_get("/api/v1/system/tasks", system_admin.list_tasks, name="system.tasks")
    r.add_delete(
        "/api/v1/system/tasks/{task_id}", system_admin.cancel_task, name="system.tasks.cancel"
    )
    r.add_get("/api/v1/system/breakers", breakers.list_breakers, name="system.breakers")
    r.add_post(
        "/api/v1/system/breakers/{name}/isolate", breakers.isolate, name="system.breaker.isolate"
    )
    r.add_post("/api/v1/system/breakers/{name}/reset", breakers.reset, name="system.breaker.reset")
    r.add_get("/ws", ws.websocket, name="ws")

    rec = recommendations
    r.add_get("/api/v1/recommendations/roles", rec.roles_get, name="recommendations.roles.get")
    r.add_post("/api/v1/recommendations/roles", rec.roles_post, name="recommendations.roles")
    r.add_get(
        "/api/v1/recommendations/courses/stream", rec.course_stream, name="recommendations.courses"
    )
    r.add_post("/api/v1/learning-paths", learning_paths.create, name="learning_paths.create")
    r.add_get("/api/v1/learning-paths", learning_paths.list_paths, name="learning_paths.list")
    r.add_get("/api/v1/learning-paths/{id}", learning_paths.get_path, name="learning_paths.get")
    r.add_get("/api/v1/courses", courses.search, name="courses.search")
    r.add_get("/api/v1/roles", roles.search, name="roles.search")

    r.add_post("/api/v1/interactions", interactions.record, name="interactions.record")
    r.add_get(
        "/api/v1/recommendations/adaptive",
        interactions.list_adaptive,
        name="recommendations.adaptive",
    )
    r.add_get("/api/v1/onboarding/progress", onboarding.progress, name="onboarding.progress")
    r.add_get(
        "/api/v1/onboarding/progress/stream",
        onboarding.progress_stream,
        name="onboarding.progress.stream",
    )
    r.add_get("/api/v1/export", export.export, name="export")

    r.add_post("/api/v1/tasks", tasks.create, name="tasks.create")
    r.add_get("/api/v1/tasks", tasks.list_tasks, name="tasks.list")
    r.add_get("/api/v1/tasks/{task_id}", tasks.get, name="tasks.get")
    r.add_delete("/api/v1/tasks/{task_id}", tasks.cancel, name="tasks.cancel")
    r.add_get("/api/v1/tasks/{task_id}/events", tasks.events, name="tasks.events")

    r.add_get("/", index, name="webapp.index")
    r.add_static("/static/", STATIC_DIR, name="static", follow_symlinks=False)
