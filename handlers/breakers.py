"""Circuit breakers for operators: list, isolate, reset (admin only)."""

from __future__ import annotations

from aiohttp import web
from marshmallow import Schema, fields

from handlers.common import api, json_response
from handlers.keys import BREAKERS

STATES = ("closed", "open", "half_open", "isolated")


class BreakerSchema(Schema):
    name = fields.String(required=True)
    state = fields.String(required=True, metadata={"enum": list(STATES)})
    failures = fields.Integer(required=True)
    opened_at = fields.String(allow_none=True)
    shared = fields.Boolean(required=True)


class BreakerListSchema(Schema):
    items = fields.List(fields.Nested(BreakerSchema), required=True)


@api(
    "List the circuit breakers and their states",
    response=BreakerListSchema,
    admin=True,
    tags=("system",),
)
async def list_breakers(request: web.Request) -> web.Response:
    return json_response({"items": await request.app[BREAKERS].states()})


@api(
    "Force a circuit breaker open until reset (isolate)",
    response=BreakerSchema,
    admin=True,
    tags=("system",),
    errors=(404,),
)
async def isolate(request: web.Request) -> web.Response:
    state = await request.app[BREAKERS].isolate(request.match_info["name"])
    return json_response(state)


@api(
    "Close a circuit breaker and clear its counts (reset)",
    response=BreakerSchema,
    admin=True,
    tags=("system",),
    errors=(404,),
)
async def reset(request: web.Request) -> web.Response:
    state = await request.app[BREAKERS].reset(request.match_info["name"])
    return json_response(state)
