"""Interaction routes: record one (202) and list the adaptive recommendations made so far."""

from __future__ import annotations

from aiohttp import web

from handlers.common import (
    api,
    current_user,
    json_response,
    keyset_page,
    load_body,
)
from handlers.keys import INTERACTIONS
from handlers.schemas.activity import (
    AdaptiveListSchema,
    InteractionAcceptedSchema,
    InteractionBodySchema,
    ListQuerySchema,
)

TAGS = ("learning activity",)


@api(
    "Record a learning interaction; the adaptive analysis runs in the background",
    body=InteractionBodySchema,
    response=InteractionAcceptedSchema,
    status=202,
    tags=TAGS,
    errors=(400, 401, 403, 415, 422),
)
async def record(request: web.Request) -> web.Response:
    user = current_user(request)
    body = await load_body(request, InteractionBodySchema)
    return json_response(await request.app[INTERACTIONS].record(user.id, body), status=202)


@api(
    "List the adaptive recommendations made for me, newest first",
    query=ListQuerySchema,
    response=AdaptiveListSchema,
    tags=TAGS,
    errors=(401, 422),
)
async def list_adaptive(request: web.Request) -> web.Response:
    return await keyset_page(request, ListQuerySchema, request.app[INTERACTIONS].list_adaptive)
