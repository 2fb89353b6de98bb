"""SSE: resume, retention, slow consumers, caps, revocation, the system stream, shutdown."""

from __future__ import annotations

import asyncio
import signal
from typing import Any

import httpx
import psycopg2
import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient
from httpx_sse import aconnect_sse

from handlers.keys import EVENT_BUS, EVENT_HUB, EVENT_STATS
from services.events.bus import stream_key
from tests import processes
from tests.conftest import AppFactory
from tests.helpers import Authed, make_admin, register_user
from tests.realtime_helpers import next_event, next_message

STREAM = "/api/v1/system/stream"
QUIET = {"metrics_interval_s": 3600}  # no metrics events unless a test wants them


async def _admin(client: TestClient[Any, Any]) -> Authed:
    authed = await register_user(client)
    await make_admin(client, authed)
    return authed


async def test_first_message_has_retry_and_events_are_one_line(
    make_client: AppFactory,
) -> None:
    client = await make_client(monitor=QUIET, events={"sse_ping_interval_s": 0.2})
    admin = await _admin(client)
    resp = await client.get(STREAM, headers=admin.headers)
    assert resp.status == 200, await resp.text()
    assert resp.headers["Content-Type"] == "text/event-stream"
    first = await next_message(resp)
    assert first is not None and first.retry == 3000
    ping = await next_message(resp)  # nothing published yet: a ping comment comes
    assert ping is not None and ping.comments == ["ping"]
    eid = await client.app[EVENT_BUS].publish("system", "breaker", {"name": "ai", "state": "open"})
    msg = await next_event(resp)
    assert msg is not None and (msg.id, msg.event) == (eid, "breaker")
    assert msg.data == {"name": "ai", "state": "open"}
    assert client.app[EVENT_STATS].direct == 1  # a caught-up stream is written by the hub
    resp.close()


async def test_event_published_on_a_reaches_sse_and_ws_on_b(make_client: AppFactory) -> None:
    import websockets

    a = await make_client(monitor=QUIET)
    b = await make_client(monitor=QUIET)
    admin = await _admin(a)
    url = str(b.make_url(STREAM))
    async with httpx.AsyncClient(timeout=10) as http:
        async with aconnect_sse(http, "GET", url, headers=admin.headers) as source:
            ws_url = str(b.make_url("/ws")).replace("http", "ws", 1)
            async with websockets.connect(ws_url, additional_headers=admin.headers) as ws:
                welcome = await asyncio.wait_for(ws.recv(), 5)
                assert '"welcome"' in welcome
                assert '"subscribed"' in await asyncio.wait_for(ws.recv(), 5)
                bus = a.app[EVENT_BUS]
                uid = admin.user["id"]
                sys_id = await bus.publish("system", "breaker", {"name": "x", "state": "open"})
                rec_id = await bus.publish(f"user:{uid}:recommendations", "adaptive", {"n": 1})
                async with asyncio.timeout(5):
                    async for sse in source.aiter_sse():
                        if sse.event == "breaker":
                            assert sse.id == sys_id and sse.json()["name"] == "x"
                            break
                got = await asyncio.wait_for(ws.recv(), 5)
                assert f'"id":"{rec_id}"' in got and '"channel":"recommendations"' in got


async def test_last_event_id_resume_gets_exactly_the_missed_50(make_client: AppFactory) -> None:
    client = await make_client(monitor=QUIET)
    admin = await _admin(client)
    bus = client.app[EVENT_BUS]
    resp = await client.get(STREAM, headers=admin.headers)
    await next_message(resp)  # retry
    seen = await bus.publish("system", "breaker", {"i": -1})
    msg = await next_event(resp)
    assert msg is not None and msg.id == seen
    resp.close()
    missed = [await bus.publish("system", "breaker", {"i": i}) for i in range(50)]
    resp = await client.get(STREAM, headers={**admin.headers, "Last-Event-ID": seen})
    assert (await next_message(resp)).retry is not None  # type: ignore[union-attr]
    got = [(await next_event(resp)) for _ in range(50)]
    assert [m.id for m in got if m] == missed
    assert [m.data["i"] for m in got if m] == list(range(50))
    live = await bus.publish("system", "breaker", {"i": "live"})
    msg = await next_event(resp)
    assert msg is not None and msg.id == live
    resp.close()


async def test_position_out_of_retention_sends_reset(
    make_client: AppFactory, redis: aioredis.Redis
) -> None:
    client = await make_client(monitor=QUIET, events={"retention_events": 1000})
    admin = await _admin(client)
    pipe = redis.pipeline(transaction=False)
    for i in range(1600):
        pipe.xadd(stream_key("system"), {"e": "breaker", "d": b'{"i":%d}' % i}, maxlen=1000)
    ids = [x.decode() for x in await pipe.execute()]
    resp = await client.get(STREAM, headers={**admin.headers, "Last-Event-ID": ids[0]})
    await next_message(resp)
    reset = await next_event(resp)
    assert reset is not None and reset.event == "reset"
    oldest = reset.data["oldest_id"]
    assert oldest in ids and ids.index(oldest) > 1
    first = await next_event(resp)
    assert first is not None and first.id == oldest
    resp.close()


async def test_a_client_that_stops_reading_is_dropped(make_client: AppFactory) -> None:
    client = await make_client(monitor=QUIET, events={"subscriber_queue": 16})
    admin = await _admin(client)
    stats = client.app[EVENT_STATS]
    resp = await client.get(STREAM, headers=admin.headers)
    await next_message(resp)
    bus = client.app[EVENT_BUS]
    blob = "x" * 8000
    published = 0
    while stats.dropped == 0 and published < 5000:  # until the server gives up on us
        await bus.publish("system", "note", {"b": blob})
        published += 1
    await stats.wait_until(lambda s: s.dropped == 1, 10)
    assert stats.queue_peak <= 16
    assert client.app[EVENT_HUB].subscriber_count("system") == 0
    received = 0
    while (msg := await next_message(resp, 10)) is not None:  # drains, then the stream ends
        received += msg.data is not None
    assert 0 < received < published
    await stats.wait_until(lambda s: s.sse_open == 0, 5)


async def test_system_stream_is_admin_only_and_sends_metrics(make_client: AppFactory) -> None:
    client = await make_client(monitor={"metrics_interval_s": 0.2})
    user = await register_user(client)
    r = await client.get(STREAM, headers=user.headers)
    assert r.status == 403
    assert r.content_type == "application/problem+json"
    client.session.cookie_jar.clear()  # registration set a session cookie
    r = await client.get(STREAM)
    assert r.status == 401
    admin = await _admin(client)
    resp = await client.get(STREAM, headers=admin.headers)
    msg = await next_event(resp, skip=())
    assert msg is not None and msg.event == "metrics" and msg.id
    assert set(msg.data) >= {
        "timestamp",
        "loop_lag_ms",
        "connections",
        "breakers",
        "tasks",
        "requests_per_s",
    }
    assert set(msg.data["loop_lag_ms"]) == {"p50", "p99", "max"}
    assert msg.data["tasks"].keys() >= {"queued", "running"}
    r = await client.get("/api/v1/system/status", headers=admin.headers)
    assert r.status == 200, await r.text()
    status = await r.json()
    assert status["connections"]["sse"] == 1
    resp.close()
    r = await client.get("/api/v1/system/status", headers=user.headers)
    assert r.status == 403


async def test_per_user_stream_cap_is_429(make_client: AppFactory) -> None:
    client = await make_client(monitor=QUIET, limits={"streams_per_user": 2})
    admin = await _admin(client)
    open_ = [await client.get(STREAM, headers=admin.headers) for _ in range(2)]
    assert all(r.status == 200 for r in open_)
    r = await client.get(STREAM, headers=admin.headers)
    assert r.status == 429
    assert int(r.headers["Retry-After"]) >= 1
    for resp in open_:
        resp.close()
    stats = client.app[EVENT_STATS]
    await stats.wait_until(lambda s: s.sse_open == 0, 5)  # released when the clients left
    r = await client.get(STREAM, headers=admin.headers)
    assert r.status == 200
    r.close()


async def test_gone_client_releases_its_subscription(make_client: AppFactory) -> None:
    client = await make_client(monitor=QUIET, events={"sse_ping_interval_s": 0.2})
    admin = await _admin(client)
    resp = await client.get(STREAM, headers=admin.headers)
    await next_message(resp)
    hub, stats = client.app[EVENT_HUB], client.app[EVENT_STATS]
    assert hub.subscriber_count("system") == 1
    resp.close()  # no further event is published: only the ping notices
    await stats.wait_until(lambda s: s.sse_open == 0 and s.hub_subscribers == 0, 3)


async def test_logout_ends_the_sessions_streams(make_client: AppFactory) -> None:
    client = await make_client(monitor=QUIET)
    admin = await _admin(client)
    other = await register_user(client)
    await make_admin(client, other)
    mine = await client.get(STREAM, headers=admin.headers)
    theirs = await client.get(STREAM, headers=other.headers)
    await next_message(mine)
    await next_message(theirs)
    r = await client.post("/api/v1/auth/logout", headers=admin.headers)
    assert r.status in (200, 204), await r.text()
    assert await next_message(mine, 5) is None  # the stream ended
    eid = await client.app[EVENT_BUS].publish("system", "breaker", {"still": "here"})
    msg = await next_event(theirs)
    assert msg is not None and msg.id == eid
    theirs.close()


async def test_redis_connections_do_not_grow_with_subscribers(
    make_client: AppFactory, redis: aioredis.Redis
) -> None:
    client = await make_client(monitor=QUIET, limits={"streams_per_user": 100})
    admin = await _admin(client)

    async def connections() -> int:
        return len(await redis.client_list())

    first = await client.get(STREAM, headers=admin.headers)
    await next_message(first)
    before = await connections()
    streams = [first]
    for _ in range(49):
        resp = await client.get(STREAM, headers=admin.headers)
        await next_message(resp)
        streams.append(resp)
    hub = client.app[EVENT_HUB]
    assert hub.subscriber_count("system") == 50
    # The general pool may open a connection or two under concurrency; never one per client.
    assert await connections() <= before + 3
    eid = await client.app[EVENT_BUS].publish("system", "breaker", {"all": True})
    for resp in streams:
        msg = await next_event(resp)
        assert msg is not None and msg.id == eid
        resp.close()


@pytest.mark.timeout(90)
async def test_sigterm_ends_200_streams_and_exits_cleanly(
    database_url: str, redis_url: str, config: Any
) -> None:
    port = processes.free_port()
    env = processes.server_env(
        database_url,
        redis_url,
        port,
        FLUENTPRO_LIMITS_STREAMS_PER_USER="500",
        FLUENTPRO_MONITOR_METRICS_INTERVAL_S="3600",
    )
    proc = processes.start(["-m", "server"], env)
    base = f"http://127.0.0.1:{port}"
    try:
        await asyncio.to_thread(processes.wait_http, base + "/health/live", 60, proc)
        limits = httpx.Limits(max_connections=300, max_keepalive_connections=0)
        async with httpx.AsyncClient(base_url=base, timeout=20, limits=limits) as http:
            r = await http.post(
                "/api/v1/auth/register",
                json={"email": "sigterm@example.com", "password": "copper-lantern-orbit-42x"},
            )
            assert r.status_code == 201, r.text
            body = r.json()
            _set_admin(database_url, body["user"]["id"])
            headers = {"Authorization": f"Bearer {body['token']}"}
            opened = asyncio.Event()
            started = 0

            async def one() -> int:
                nonlocal started
                count = 0
                async with aconnect_sse(http, "GET", STREAM, headers=headers) as source:
                    assert source.response.status_code == 200
                    started += 1
                    if started == 200:
                        opened.set()
                    async for _ in source.aiter_sse():
                        count += 1
                return count

            readers = [asyncio.create_task(one()) for _ in range(200)]
            await asyncio.wait_for(opened.wait(), 30)
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            proc.send_signal(signal.SIGTERM)
            results = await asyncio.wait_for(asyncio.gather(*readers), 10)
            assert len(results) == 200  # every stream ended without an error
        code = await asyncio.to_thread(proc.wait, 10)
        assert code == 0, proc.stderr.read().decode()[-2000:] if proc.stderr else ""
        assert loop.time() - t0 < 5  # within the grace period (5 s here)
    finally:
        processes.stop(proc)


def _set_admin(database_url: str, user_id: str) -> None:
    conn = psycopg2.connect(database_url, connect_timeout=5)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("UPDATE users SET role = 'admin' WHERE id = %s", (user_id,))
    finally:
        conn.close()
