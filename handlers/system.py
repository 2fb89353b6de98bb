"""Administrators' live view: the system event stream and the status snapshot."""

from __future__ import annotations

from aiohttp import web
from marshmallow import Schema, fields

from handlers.common import api, json_response
from handlers.keys import SYSTEM_SNAPSHOT
from handlers.sse import sse_channel_stream
from services.events.channels import SYSTEM


class LagSchema(Schema):
    p50 = fields.Float(required=True)
    p99 = fields.Float(required=True)
    max = fields.Float(required=True)


class ConnectionsSchema(Schema):
    sse = fields.Integer(required=True)
    ws = fields.Integer(required=True)


class TaskCountsSchema(Schema):
    queued = fields.Integer(required=True)
    running = fields.Integer(required=True)


class SystemStatusSchema(Schema):
    timestamp = fields.String(required=True)
    loop_lag_ms = fields.Nested(LagSchema, required=True)
    connections = fields.Nested(ConnectionsSchema, required=True)
    breakers = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    tasks = fields.Nested(TaskCountsSchema, required=True)
    requests_per_s = fields.Float(required=True)
    process = fields.Dict()


@api(
    "System event stream (SSE): `metrics` every second, `breaker` on state changes",
    admin=True,
    content_type="text/event-stream",
    tags=("system",),
    errors=(401, 403, 429, 503),
)
async def system_stream(request: web.Request) -> web.StreamResponse:
    return await sse_channel_stream(request, SYSTEM)


@api(
    "System status: the same snapshot as a `metrics` event",
    admin=True,
    response=SystemStatusSchema,
    tags=("system",),
    errors=(401, 403),
)
async def system_status(request: web.Request) -> web.Response:
    return json_response(await request.app[SYSTEM_SNAPSHOT].collect())
