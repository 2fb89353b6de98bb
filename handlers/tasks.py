"""Long-running task routes: create (202), list, read, cancel (202), live events (SSE)."""

from __future__ import annotations

from aiohttp import web

from handlers.common import (
    api,
    current_user,
    json_response,
    keyset_page,
    load_body,
)
from handlers.keys import TASKS
from handlers.schemas.tasks import (
    TaskAcceptedSchema,
    TaskCreateSchema,
    TaskListQuerySchema,
    TaskPageSchema,
    TaskSchema,
)
from handlers.sse import sse_channel_stream
from services.events.channels import task_channel
from services.tasks.kinds import FINAL_EVENT

TAGS = ("tasks",)
FINAL_EVENT_NAMES = tuple(FINAL_EVENT.values())


def _urls(request: web.Request, task_id: str) -> dict[str, str]:
    router = request.app.router
    return {
        "status_url": str(router["tasks.get"].url_for(task_id=task_id)),
        "events_url": str(router["tasks.events"].url_for(task_id=task_id)),
    }


@api(
    "Start a long-running task (career_report or batch_role_match)",
    body=TaskCreateSchema,
    response=TaskAcceptedSchema,
    status=202,
    tags=TAGS,
    errors=(400, 401, 415, 422, 429),
)
async def create(request: web.Request) -> web.Response:
    user = current_user(request)
    body = await load_body(request, TaskCreateSchema)
    task = await request.app[TASKS].create(user.id, body["kind"], body["params"])
    task_id = task["task_id"]
    urls = _urls(request, task_id)
    return json_response(
        {"task_id": task_id, "status": task["status"], **urls},
        status=202,
        headers={"Location": urls["status_url"]},
    )


@api(
    "List my tasks, newest first",
    query=TaskListQuerySchema,
    response=TaskPageSchema,
    tags=TAGS,
    errors=(401, 422),
)
async def list_tasks(request: web.Request) -> web.Response:
    return await keyset_page(request, TaskListQuerySchema, request.app[TASKS].list)


@api("One of my tasks", response=TaskSchema, tags=TAGS, errors=(401, 404))
async def get(request: web.Request) -> web.Response:
    user = current_user(request)
    return json_response(await request.app[TASKS].get(user.id, request.match_info["task_id"]))


@api(
    "Cancel a task: at once while queued, soon (cooperatively) while running",
    response=TaskSchema,
    status=202,
    tags=TAGS,
    errors=(401, 404),
)
async def cancel(request: web.Request) -> web.Response:
    user = current_user(request)
    task = await request.app[TASKS].cancel(user.id, request.match_info["task_id"])
    return json_response(task, status=202)


@api(
    "Live task events (SSE): `progress`, then one of `complete`, `failed`, `cancelled`",
    content_type="text/event-stream",
    tags=TAGS,
    errors=(401, 404, 429, 503),
)
async def events(request: web.Request) -> web.StreamResponse:
    """A finished task sends its final event at once; a live one replays its history
    (or resumes after Last-Event-ID), then streams until its final event."""
    user = current_user(request)
    task_id, final = await request.app[TASKS].final_event(user.id, request.match_info["task_id"])
    return await sse_channel_stream(
        request,
        task_channel(task_id),
        initial_events=[final] if final is not None else None,
        final_event_names=FINAL_EVENT_NAMES,
        replay_from="0-0",
    )
