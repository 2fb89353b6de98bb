"""Learning-path routes: create (201), list (cursor pages) and fetch one."""

from __future__ import annotations

from aiohttp import web

from handlers.common import (
    api,
    current_user,
    json_response,
    keyset_page,
    load_body,
)
from handlers.keys import CAREER
from handlers.schemas.career import (
    LearningPathBodySchema,
    LearningPathPageSchema,
    LearningPathSchema,
    PageQuerySchema,
)

TAGS = ("learning paths",)


@api(
    "Build a learning path toward a catalog role",
    body=LearningPathBodySchema,
    response=LearningPathSchema,
    status=201,
    tags=TAGS,
    errors=(400, 401, 415, 422, 429),
)
async def create(request: web.Request) -> web.Response:
    user = current_user(request)
    body = await load_body(request, LearningPathBodySchema)
    path = await request.app[CAREER].create_learning_path(
        user.id, body["target_role"], body["timeline_weeks"]
    )
    return json_response(path, status=201)


@api(
    "List my learning paths, newest first",
    query=PageQuerySchema,
    response=LearningPathPageSchema,
    tags=TAGS,
    errors=(401, 422),
)
async def list_paths(request: web.Request) -> web.Response:
    return await keyset_page(request, PageQuerySchema, request.app[CAREER].list_learning_paths)


@api(
    "One of my learning paths",
    response=LearningPathSchema,
    tags=TAGS,
    errors=(401, 404),
)
async def get_path(request: web.Request) -> web.Response:
    user = current_user(request)
    body = await request.app[CAREER].learning_path_json(user.id, request.match_info["id"])
    return web.Response(body=body, content_type="application/json", charset="utf-8")
