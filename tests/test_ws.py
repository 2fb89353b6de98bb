"""WebSocket /ws: protocol, authorization, limits, revocation, resume and shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import psycopg2
import pytest
import redis.asyncio as aioredis
import websockets
from aiohttp import web
from aiohttp.test_utils import TestClient
from pytest_aiohttp import AiohttpClient
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus

from handlers.config import Config
from handlers.keys import CHAT_SERVICE, EVENT_BUS, EVENT_STATS
from server.app import create_app
from services.auth_user import AuthUser
from services.events.bus import stream_key
from tests.conftest import AppFactory
from tests.helpers import Authed, register_user


def ws_url(client: TestClient[Any, Any]) -> str:
    return str(client.make_url("/ws")).replace("http", "ws", 1)


async def recv(ws: ClientConnection, within: float = 5.0) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), within))


@contextlib.asynccontextmanager
async def connect(
    client: TestClient[Any, Any], authed: Authed | None, **kw: Any
) -> AsyncIterator[ClientConnection]:
    headers = authed.headers if authed else {}
    async with websockets.connect(ws_url(client), additional_headers=headers, **kw) as ws:
        if authed is not None:
            assert (await recv(ws))["type"] == "welcome"
            reply = await recv(ws)
            # `last_event_id` (where live began) is added when the channel has history.
            reply.pop("last_event_id", None)
            assert reply == {"type": "subscribed", "channel": "recommendations"}
        yield ws


async def closed_code(ws: ClientConnection, within: float = 5.0) -> int:
    with pytest.raises(ConnectionClosed) as info:
        async with asyncio.timeout(within):
            while True:
                await ws.recv()
    assert info.value.rcvd is not None
    return info.value.rcvd.code


async def test_welcome_ping_and_auto_subscription(client: TestClient[Any, Any]) -> None:
    user = await register_user(client)
    async with websockets.connect(ws_url(client), additional_headers=user.headers) as ws:
        welcome = await recv(ws)
        assert welcome["type"] == "welcome" and welcome["user_id"] == user.user["id"]
        assert welcome["server_time"].endswith("+00:00")
        assert await recv(ws) == {"type": "subscribed", "channel": "recommendations"}
        await ws.send(json.dumps({"type": "ping", "id": 7}))
        pong = await recv(ws)
        assert pong["type"] == "pong" and pong["id"] == 7 and pong["server_time"]
        eid = await client.app[EVENT_BUS].publish(
            f"user:{user.user['id']}:recommendations", "adaptive", {"course": "x"}
        )
        assert await recv(ws) == {
            "type": "event",
            "channel": "recommendations",
            "event": "adaptive",
            "id": eid,
            "data": {"course": "x"},
        }


async def test_cross_origin_is_refused_before_upgrade(client: TestClient[Any, Any]) -> None:
    user = await register_user(client)
    with pytest.raises(InvalidStatus) as info:
        async with websockets.connect(
            ws_url(client), additional_headers=user.headers, origin="https://evil.example"
        ):
            pass
    assert info.value.response.status_code == 403
    own = str(client.make_url("/")).rstrip("/")
    async with websockets.connect(ws_url(client), additional_headers=user.headers, origin=own):
        pass


async def test_bad_messages_get_errors_and_the_connection_stays(
    client: TestClient[Any, Any],
) -> None:
    user = await register_user(client)
    async with connect(client, user) as ws:
        await ws.send("{not json")
        assert (await recv(ws))["code"] == "bad_json"
        await ws.send("[1, 2]")
        assert (await recv(ws))["code"] == "bad_message"
        await ws.send(json.dumps({"type": "teleport", "id": "a"}))
        err = await recv(ws)
        assert (err["type"], err["code"], err["id"]) == ("error", "unknown_type", "a")
        await ws.send(json.dumps({"type": "subscribe", "channel": 5}))
        err = await recv(ws)
        assert (err["code"], err["errors"]) == (
            "invalid_fields",
            {"channel": ["Not a valid string."]},
        )
        await ws.send(json.dumps({"type": "chat", "message": "hello"}))  # no id
        err = await recv(ws)
        assert (err["code"], list(err["errors"])) == ("invalid_fields", ["id"])
        await ws.send(json.dumps({"type": "interaction", "id": 3, "event": {"kind": "view"}}))
        assert await recv(ws) == {"type": "error", "code": "invalid_fields", "id": 3} | {
            "message": "Some fields are invalid.",
            "errors": {
                "event": {
                    "kind": ["Unknown field."],
                    "type": ["Missing data for required field."],
                }
            },
        }
        await ws.send(json.dumps({"type": "ping"}))
        assert (await recv(ws))["type"] == "pong"


async def test_oversized_frame_closes_1009(make_client: AppFactory) -> None:
    client = await make_client(limits={"ws_max_frame_bytes": 2048})
    user = await register_user(client)
    async with connect(client, user) as ws:
        await ws.send(json.dumps({"type": "ping", "pad": "x" * 4096}))
        assert await closed_code(ws) == 1009


async def test_other_users_channels_are_refused_and_nothing_leaks(
    client: TestClient[Any, Any], database_url: str
) -> None:
    me = await register_user(client)
    other = await register_user(client)
    theirs = _insert_task(database_url, other.user["id"])
    mine = _insert_task(database_url, me.user["id"])
    async with connect(client, me) as ws:
        for channel in (f"tasks:{theirs}", "tasks:not-a-uuid", f"user:{other.user['id']}:x"):
            await ws.send(json.dumps({"type": "subscribe", "channel": channel, "id": 1}))
            err = await recv(ws)
            assert (err["type"], err["code"]) == ("error", "not_found"), err
        await ws.send(json.dumps({"type": "subscribe", "channel": "system"}))
        assert (await recv(ws))["code"] == "forbidden"
        bus = client.app[EVENT_BUS]
        await bus.publish(f"user:{other.user['id']}:recommendations", "adaptive", {"s": 1})
        await bus.publish(f"tasks:{theirs}", "progress", {"s": 2})
        await ws.send(json.dumps({"type": "subscribe", "channel": f"tasks:{mine}"}))
        assert await recv(ws) == {"type": "subscribed", "channel": f"tasks:{mine}"}
        eid = await bus.publish(f"tasks:{mine}", "progress", {"progress": 50})
        event = await recv(ws)  # the first event is ours: nothing of theirs came before
        assert (event["channel"], event["id"]) == (f"tasks:{mine}", eid)
        await ws.send(json.dumps({"type": "unsubscribe", "channel": f"tasks:{mine}"}))
        assert await recv(ws) == {"type": "unsubscribed", "channel": f"tasks:{mine}"}


async def test_resume_with_last_event_id_and_reset(
    make_client: AppFactory, redis: aioredis.Redis
) -> None:
    client = await make_client(events={"retention_events": 1000})
    user = await register_user(client)
    channel = f"user:{user.user['id']}:onboarding"
    bus = client.app[EVENT_BUS]
    seen = await bus.publish(channel, "progress", {"i": -1})
    missed = [await bus.publish(channel, "step", {"i": i}) for i in range(50)]
    async with connect(client, user) as ws:
        await ws.send(
            json.dumps({"type": "subscribe", "channel": "onboarding", "last_event_id": seen})
        )
        assert (await recv(ws))["type"] == "subscribed"
        got = [await recv(ws) for _ in range(50)]
        assert [m["id"] for m in got] == missed
        live = await bus.publish(channel, "step", {"i": "live"})
        assert (await recv(ws))["id"] == live
    pipe = redis.pipeline(transaction=False)
    for i in range(1600):
        pipe.xadd(stream_key(channel), {"e": "step", "d": b'{"i":%d}' % i}, maxlen=1000)
    await pipe.execute()
    async with connect(client, user) as ws:
        await ws.send(
            json.dumps({"type": "subscribe", "channel": "onboarding", "last_event_id": seen})
        )
        assert (await recv(ws))["type"] == "subscribed"
        reset = await recv(ws)
        assert reset["type"] == "reset" and reset["channel"] == "onboarding"
        assert (await recv(ws))["id"] == reset["oldest_id"]


async def test_first_message_auth_and_its_timeout(make_client: AppFactory) -> None:
    client = await make_client(events={"ws_auth_timeout_s": 0.5})
    user = await register_user(client)
    async with websockets.connect(ws_url(client)) as ws:
        await ws.send(json.dumps({"type": "auth", "token": user.token}))
        assert (await recv(ws))["type"] == "welcome"
    async with websockets.connect(ws_url(client)) as ws:
        await ws.send(json.dumps({"type": "auth", "token": "wrong"}))
        assert await closed_code(ws) == 1008
    async with websockets.connect(ws_url(client)) as ws:
        assert await closed_code(ws) == 1008  # said nothing within the timeout


async def test_logout_closes_the_sessions_sockets_1008(client: TestClient[Any, Any]) -> None:
    user = await register_user(client)
    other = await register_user(client)
    async with connect(client, user) as ws, connect(client, other) as ws_other:
        r = await client.post("/api/v1/auth/logout", headers=user.headers)
        assert r.status in (200, 204), await r.text()
        assert await closed_code(ws) == 1008
        await ws_other.send(json.dumps({"type": "ping"}))
        assert (await recv(ws_other))["type"] == "pong"


async def test_a_client_that_stops_reading_gets_1013(make_client: AppFactory) -> None:
    client = await make_client(events={"subscriber_queue": 16})
    user = await register_user(client)
    stats = client.app[EVENT_STATS]
    channel = f"user:{user.user['id']}:recommendations"
    async with connect(client, user, max_queue=4, compression=None) as ws:
        bus = client.app[EVENT_BUS]
        blob = "y" * 8000
        published = 0
        while stats.dropped == 0 and published < 5000:
            await bus.publish(channel, "note", {"b": blob})
            published += 1
        await stats.wait_until(lambda s: s.dropped >= 1, 10)
        assert stats.queue_peak <= 16
        assert await closed_code(ws, 15) == 1013
    await stats.wait_until(lambda s: s.ws_open == 0, 5)


async def test_message_flood_is_rate_limited_then_closed(make_client: AppFactory) -> None:
    client = await make_client(limits={"ws_messages_per_s": 2})
    user = await register_user(client)
    async with connect(client, user) as ws:
        for _ in range(6):
            await ws.send(json.dumps({"type": "ping"}))
        replies = [await recv(ws) for _ in range(5)]
        assert {"type": "error", "code": "rate_limited"}.items() <= replies[-1].items()
        for _ in range(20):
            await ws.send(json.dumps({"type": "ping"}))
        assert await closed_code(ws) == 1008


async def test_per_user_socket_cap(make_client: AppFactory) -> None:
    client = await make_client(limits={"ws_per_user": 1})
    user = await register_user(client)
    async with connect(client, user):
        with pytest.raises(InvalidStatus) as info:
            async with websockets.connect(ws_url(client), additional_headers=user.headers):
                pass
        assert info.value.response.status_code == 429


SEARCH = {"type": "search", "payload": {"q": "python"}}  # a valid interaction body


class FakeChat:
    def __init__(self) -> None:
        self.closed: list[str] = []
        self.gate = asyncio.Event()

    async def stream(self, user: AuthUser, message: str) -> AsyncIterator[tuple[str, str, bool]]:
        try:
            if message == "slow":
                yield "partial ", "ai", False
                await self.gate.wait()  # never set: this one gets cancelled
            yield "Hello ", "ai", False
            yield "again", "local", True
        finally:
            self.closed.append(message)


async def test_chat_interaction_and_cancellation(
    aiohttp_client: AiohttpClient, config: Config
) -> None:
    app = create_app(config)
    chat = FakeChat()

    async def use_fake_chat(app: web.Application) -> AsyncIterator[None]:
        app[CHAT_SERVICE] = chat  # after the contexts that register the real one
        yield

    app.cleanup_ctx.append(use_fake_chat)
    client = await aiohttp_client(app)
    user = await register_user(client)
    async with connect(client, user) as ws:
        await ws.send(json.dumps({"type": "interaction", "id": "i1", "event": SEARCH}))
        ack = await recv(ws)
        assert ack["type"] == "ack" and uuid.UUID(ack["id"]) and ack["ref"] == "i1"
        await ws.send(json.dumps({"type": "chat", "id": "c1", "message": "slow"}))
        assert await recv(ws) == {"type": "chat.delta", "id": "c1", "delta": "partial "}
        await ws.send(json.dumps({"type": "chat", "id": "c2", "message": "fast"}))
        assert await recv(ws) == {"type": "chat.delta", "id": "c2", "delta": "Hello "}
        assert chat.closed[0] == "slow"  # the first stream was closed upstream
        assert await recv(ws) == {"type": "chat.reset", "id": "c2"}
        assert await recv(ws) == {"type": "chat.delta", "id": "c2", "delta": "again"}
        assert await recv(ws) == {"type": "chat.done", "id": "c2", "source": "local"}


async def test_shutdown_closes_sockets_1012_service_restart(make_client: AppFactory) -> None:
    client = await make_client()
    user = await register_user(client)
    async with connect(client, user) as ws:
        closing = asyncio.create_task(client.close())
        try:
            assert await closed_code(ws) == 1012  # service restart: reconnect and resume
        finally:
            await closing


def _insert_task(database_url: str, user_id: str) -> str:
    conn = psycopg2.connect(database_url, connect_timeout=5)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(
                "INSERT INTO tasks (user_id, kind, params) VALUES (%s, 'career_report', '{}') "
                "RETURNING id",
                (user_id,),
            )
            return str(cur.fetchone()[0])
    finally:
        conn.close()


async def test_chat_without_a_chat_service_is_unavailable(
    aiohttp_client: AiohttpClient, config: Config
) -> None:
    app = create_app(config)

    async def no_chat(app: web.Application) -> AsyncIterator[None]:
        app.pop(CHAT_SERVICE, None)  # as before the AI gateway is wired in
        yield

    app.cleanup_ctx.append(no_chat)
    client = await aiohttp_client(app)
    user = await register_user(client)
    async with connect(client, user) as ws:
        await ws.send(json.dumps({"type": "chat", "id": "c1", "message": "hello"}))
        assert await recv(ws) == {
            "type": "error",
            "code": "unavailable",
            "message": "The chat is not available here.",
            "id": "c1",
        }
        await ws.send(json.dumps({"type": "ping"}))
        assert (await recv(ws))["type"] == "pong"
