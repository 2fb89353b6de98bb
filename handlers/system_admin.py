"""Administrators' history of the system metrics and the task table (every user's
queued, running and failed tasks, with cancel)."""

from __future__ import annotations

from aiohttp import web

from handlers.common import api, json_response, load_query
from handlers.keys import DB, METRICS_HISTORY, TASKS
from handlers.schemas.system_admin import (
    AdminTaskPageSchema,
    AdminTaskQuerySchema,
    HistoryQuerySchema,
    HistorySchema,
)
from handlers.schemas.tasks import TaskSchema
from services.tasks.admin import TaskAdmin

TAGS = ("system",)


@api(
    "Metrics history (last 15 min or 1 h, kept server-side) with process restarts",
    admin=True,
    query=HistoryQuerySchema,
    response=HistorySchema,
    tags=TAGS,
    errors=(401, 403, 422),
)
async def history(request: web.Request) -> web.Response:
    query = load_query(request, HistoryQuerySchema)
    return json_response(await request.app[METRICS_HISTORY].read(query["range"]))


@api(
    "Every user's queued, running and failed tasks, newest first",
    admin=True,
    query=AdminTaskQuerySchema,
    response=AdminTaskPageSchema,
    tags=TAGS,
    errors=(401, 403, 422),
)
async def list_tasks(request: web.Request) -> web.Response:
    query = load_query(request, AdminTaskQuerySchema)
    admin = TaskAdmin(request.app[DB], request.app[TASKS])
    items = await admin.list(query["status"], query["limit"])
    return json_response({"items": items, "next_cursor": None})


@api(
    "Cancel any user's task (at once while queued, soon while running)",
    admin=True,
    response=TaskSchema,
    status=202,
    tags=TAGS,
    errors=(401, 403, 404),
)
async def cancel_task(request: web.Request) -> web.Response:
    admin = TaskAdmin(request.app[DB], request.app[TASKS])
    return json_response(await admin.cancel(request.match_info["task_id"]), status=202)
