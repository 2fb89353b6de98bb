"""Interaction routes: record one (202) and list the adaptive recommendations made so far."""

from __future__ import annotations

from aiohttp import web

from handlers.common import (
    api,
    current_user,
    decode_time_cursor,
    encode_cursor,
    json_response,
    load_body,
    load_query,
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
    user = current_user(request)
    query = load_query(request, ListQuerySchema)
    items, nxt = await request.app[INTERACTIONS].list_adaptive(
        user.id, limit=query["limit"], after=decode_time_cursor(query["cursor"])
    )
    return json_response({"items": items, "next_cursor": encode_cursor(*nxt) if nxt else None})
