"""Liveness and readiness."""

from __future__ import annotations

import asyncio
import os

from aiohttp import web
from marshmallow import Schema, fields

from handlers.common import api, json_response
from handlers.keys import DB, REDIS


class HealthSchema(Schema):
    status = fields.String(required=True)
    pid = fields.Integer()
    checks = fields.Dict(keys=fields.String(), values=fields.String())


@api("Liveness: 200 while the process runs", response=HealthSchema, auth=False, tags=("health",))
async def live(request: web.Request) -> web.Response:
    return json_response({"status": "ok", "pid": os.getpid()})


CHECK_TIMEOUT_S = 1.0


async def _check(coro: object) -> str:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_S):
            await coro  # type: ignore[misc]
        return "ok"
    except Exception as exc:  # any failure means "not ready"; the name says which
        return f"unavailable ({exc.__class__.__name__})"


async def _pg(request: web.Request) -> None:
    await request.app[DB].fetch_val("SELECT 1")


@api(
    "Readiness: 200 when PostgreSQL and Redis answer, else 503 naming the failure",
    response=HealthSchema,
    auth=False,
    tags=("health",),
    errors=(503,),
)
async def ready(request: web.Request) -> web.Response:
    postgres, redis_state = await asyncio.gather(
        _check(_pg(request)), _check(request.app[REDIS].ping())
    )
    checks = {"postgres": postgres, "redis": redis_state}
    failing = [name for name, state in checks.items() if state != "ok"]
    if failing:
        return json_response(
            {"status": "unavailable", "checks": checks, "failing": failing},
            status=503,
            headers={"Retry-After": "5"},
        )
    return json_response({"status": "ok", "checks": checks})
