"""Load shedding: past the lag ceiling, new streams, WebSockets and AI-heavy requests get
503 + Retry-After (problem details) while plain routes are served; recovery has
hysteresis; refusals are counted."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from handlers.keys import LOOP_MONITOR, METRICS, SHEDDER
from services.errors import Unavailable
from services.observability.shedding import LoadShedder
from tests.conftest import AppFactory
from tests.helpers import Authed, make_admin, register_user

ROLES = "/api/v1/recommendations/roles"
PROGRESS_STREAM = "/api/v1/onboarding/progress/stream"
JOB = {"job_description": "Python and PostgreSQL for backend services."}


def test_shedder_hysteresis() -> None:
    refused: list[str] = []
    shedder = LoadShedder(ceiling_ms=500, recover_samples=3, on_shed=refused.append)
    shedder.observe(400)
    shedder.check("ai")  # under the ceiling: served
    shedder.observe(600)
    assert shedder.active
    with pytest.raises(Unavailable) as exc:
        shedder.check("sse")
    assert exc.value.status == 503 and exc.value.headers["Retry-After"] == "2"
    # Under the ceiling but over half of it: still shedding, and the calm run restarts.
    for lag in (100, 100, 300, 100, 100):
        shedder.observe(lag)
        assert shedder.active
    shedder.observe(100)
    assert not shedder.active
    shedder.check("sse")
    assert refused == ["sse"] and shedder.shed == {"sse": 1} and shedder.episodes == 1


def test_recovery_time_in_samples() -> None:
    shedder = LoadShedder.for_monitor(ceiling_ms=200, recover_s=1.0, interval_s=0.1)
    shedder.observe(300)
    for _ in range(9):
        shedder.observe(0)
    assert shedder.active
    shedder.observe(0)
    assert not shedder.active


async def _expect_503(resp: aiohttp.ClientResponse) -> None:
    assert resp.status == 503, await resp.text()
    assert int(resp.headers["Retry-After"]) >= 1
    assert resp.content_type == "application/problem+json"
    body = await resp.json()
    assert body["status"] == 503 and "overloaded" in body["detail"]


async def _users(client: TestClient[Any, Any]) -> tuple[Authed, Authed]:
    user = await register_user(client)
    admin = await register_user(client)
    await make_admin(client, admin)
    return user, admin


async def test_injected_lag_sheds_streams_and_ai_not_plain_routes(
    make_client: AppFactory,
) -> None:
    client = await make_client(
        monitor={"shed_lag_ms": 200, "shed_recover_s": 0.3}, tasks={"in_process_worker": False}
    )
    monitor = client.app[LOOP_MONITOR]
    await monitor.stop()  # only injected samples from here on: deterministic
    user, admin = await _users(client)
    ws = await client.ws_connect("/ws", headers=user.headers)  # opened before the overload
    assert (await ws.receive_json(timeout=5))["type"] == "welcome"
    assert (await ws.receive_json(timeout=5))["type"] == "subscribed"

    monitor.record(800)
    assert client.app[SHEDDER].active
    async with client.get(PROGRESS_STREAM, headers=user.headers) as r:
        await _expect_503(r)
    async with client.post(ROLES, json=JOB, headers=user.headers) as r:
        await _expect_503(r)
    async with client.post(
        "/api/v1/tasks", json={"kind": "career_report", "params": {}}, headers=user.headers
    ) as r:
        await _expect_503(r)
    with pytest.raises(aiohttp.WSServerHandshakeError) as handshake:
        await client.ws_connect("/ws", headers=user.headers)
    assert handshake.value.status == 503
    await ws.send_json({"type": "chat", "id": "c1", "message": "What should I learn next?"})
    reply = await ws.receive_json(timeout=5)
    assert reply["type"] == "error" and reply["code"] == "unavailable", reply
    # Plain routes, the admin's status and the admin's system stream are still served.
    r = await client.get("/api/v1/me", headers=user.headers)
    assert r.status == 200, await r.text()
    r = await client.get("/api/v1/system/status", headers=admin.headers)
    assert r.status == 200, await r.text()
    async with client.get("/api/v1/system/stream", headers=admin.headers) as r:
        assert r.status == 200
    # Unauthenticated requests still get their 401 (shedding runs after auth).
    client.session.cookie_jar.clear()  # registration set a session cookie
    async with client.post(ROLES, json=JOB) as r:
        assert r.status == 401

    # 3 samples under the ceiling ... but not under half of it: still shedding.
    for lag in (150, 150, 150):
        monitor.record(lag)
    async with client.post(ROLES, json=JOB, headers=user.headers) as r:
        await _expect_503(r)
    for _ in range(3):  # shed_recover_s 0.3 at one sample per 0.1 s
        monitor.record(5)
    assert not client.app[SHEDDER].active
    async with client.post(ROLES, json=JOB, headers=user.headers) as r:
        assert r.status == 200, await r.text()
    async with client.get(PROGRESS_STREAM, headers=user.headers) as r:
        assert r.status == 200
    await ws.close()

    metrics = (await (await client.get("/metrics")).text()).splitlines()
    shed = {
        line.split("{", 1)[1].split("}")[0]: float(line.rsplit(" ", 1)[1])
        for line in metrics
        if line.startswith("fluentpro_load_shed_total{")
    }
    assert shed == {'kind="sse"': 1, 'kind="ai"': 3, 'kind="ws"': 1, 'kind="chat"': 1}
    assert client.app[METRICS].shed is not None


async def test_a_measured_block_of_the_loop_sheds_then_recovers(make_client: AppFactory) -> None:
    """The real monitor (20 ms samples) sees a 300 ms block past a 100 ms ceiling."""
    client = await make_client(
        monitor={"sample_interval_s": 0.02, "shed_lag_ms": 100, "shed_recover_s": 1.0}
    )
    user = await register_user(client)
    shedder = client.app[SHEDDER]
    flips: list[bool] = []
    changed = asyncio.Event()

    def watch(_: float) -> None:
        if not flips or flips[-1] != shedder.active:
            flips.append(shedder.active)
            changed.set()

    client.app[LOOP_MONITOR].add_listener(watch)  # runs after the shedder's listener
    await asyncio.wait_for(changed.wait(), 5)
    assert flips == [False]
    changed.clear()
    started = time.perf_counter()
    time.sleep(0.3)  # noqa: ASYNC251 - block the loop for a measured time, on purpose
    blocked_ms = (time.perf_counter() - started) * 1000
    await asyncio.wait_for(changed.wait(), 5)
    assert flips == [False, True] and blocked_ms >= 300
    async with client.post(ROLES, json=JOB, headers=user.headers) as r:
        await _expect_503(r)
    r = await client.get("/api/v1/me", headers=user.headers)
    assert r.status == 200, await r.text()
    changed.clear()
    await asyncio.wait_for(changed.wait(), 10)  # 1 s of calm samples
    assert flips == [False, True, False]
    async with client.post(ROLES, json=JOB, headers=user.headers) as r:
        assert r.status == 200, await r.text()
