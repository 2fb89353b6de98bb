"""Finding 9 (2026-12-07): open WebSocket and SSE connections outlived their session's expiry
and role changes (a demoted administrator kept the ``system`` stream)."""

from __future__ import annotations

import json
from typing import Any

from aiohttp.test_utils import TestClient

from server.keys import ACCOUNTS, DB
from tests.conftest import AppFactory
from tests.helpers import Authed, make_admin, register_user
from tests.realtime_helpers import next_message
from tests.test_ws import closed_code, connect, recv

SYSTEM = "/api/v1/system/stream"
QUIET = {"metrics_interval_s": 3600}
EXPIRE_SOON = """
UPDATE auth_sessions SET expires_at = now() + make_interval(secs => 2)
WHERE user_id = %(u)s
"""


async def _admin(client: TestClient[Any, Any]) -> Authed:
    who = await register_user(client)
    await make_admin(client, who)
    return who


async def test_demoted_admin_loses_the_system_stream_and_socket(make_client: AppFactory) -> None:
    client = await make_client(monitor=QUIET)
    admin = await _admin(client)
    sse = await client.get(SYSTEM, headers=admin.headers)
    assert sse.status == 200
    await next_message(sse)  # retry: … — the stream is open
    async with connect(client, admin) as ws:
        await ws.send(json.dumps({"type": "subscribe", "channel": "system"}))
        assert (await recv(ws))["type"] == "subscribed"
        await client.app[ACCOUNTS].set_role(admin.user["id"], "user")
        assert await closed_code(ws) == 1008
    assert await next_message(sse, 5) is None  # the SSE stream ended
    # Reconnecting, the same token is an ordinary user now.
    assert (await client.get(SYSTEM, headers=admin.headers)).status == 403
    async with connect(client, admin) as ws:
        await ws.send(json.dumps({"type": "subscribe", "channel": "system", "id": 1}))
        reply = await recv(ws)
        assert reply["type"] == "error" and reply["code"] == "forbidden"


async def test_sockets_close_when_the_session_expires(make_client: AppFactory) -> None:
    client = await make_client(monitor=QUIET)
    admin = await _admin(client)
    await client.app[DB].execute(EXPIRE_SOON, {"u": admin.user["id"]})
    sse = await client.get(SYSTEM, headers=admin.headers)
    assert sse.status == 200
    async with connect(client, admin) as ws:
        assert await closed_code(ws, within=10) == 1008
    assert await next_message(sse, 10) is None or await next_message(sse, 10) is None
    assert (await client.get("/api/v1/me", headers=admin.headers)).status == 401
