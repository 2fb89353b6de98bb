"""The smoke set on Redis Cluster and on Redis Sentinel, two app processes each.

Process A runs no task worker, process B does: an event of a task that B runs reaches
A's subscribers only through Redis.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from services.breaker.shared import RedisCircuitBreaker
from tests.ai_helpers import wait_until
from tests.breaker_helpers import guarded_call, start_worker
from tests.fake_ai import Behaviour, FakeAI
from tests.helpers import DEFAULT_PASSWORD
from tests.redis_servers import Topology, breaker_client
from tests.task_helpers import DESCRIPTIONS, assert_well_formed, read_events
from tests.topologies.conftest import App

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session


async def register(http: aiohttp.ClientSession, app: App) -> tuple[str, dict[str, str]]:
    email = f"topo-{uuid.uuid4().hex[:12]}@example.com"
    r = await http.post(
        f"{app.url}/api/v1/auth/register", json={"email": email, "password": DEFAULT_PASSWORD}
    )
    assert r.status == 201, await r.text()
    token = (await r.json())["token"]
    return email, {"Authorization": f"Bearer {token}"}


async def test_ready_names_the_topology(
    apps: list[App], topology: Topology, http: aiohttp.ClientSession
) -> None:
    for app in apps:
        r = await http.get(f"{app.url}/health/ready")
        assert r.status == 200, await r.text()
        body = await r.json()
        assert body["redis_topology"] == topology.kind
        assert body["checks"]["redis"] == "ok"


async def test_sessions_and_revocation_across_processes(
    apps: list[App], http: aiohttp.ClientSession
) -> None:
    a, b = apps
    _, headers = await register(http, a)
    for app in (a, b, a, b):  # each process caches the session (Redis, then in-process)
        r = await http.get(f"{app.url}/api/v1/me", headers=headers)
        assert r.status == 200, await r.text()
    r = await http.post(f"{b.url}/api/v1/auth/logout", headers=headers)
    assert r.status == 204, await r.text()
    # Revoked everywhere: A's in-process cache hears it over pub/sub, within milliseconds
    # (on a cluster the notice crosses the cluster bus first; a request that reaches A
    # in that window is still answered from its cache).
    deadline = asyncio.get_running_loop().time() + 2
    while True:
        r = await http.get(f"{a.url}/api/v1/me", headers=headers)
        if r.status != 200 or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(0.01)
    assert r.status == 401, await r.text()


async def test_login_throttle_holds_across_processes(
    apps: list[App], http: aiohttp.ClientSession
) -> None:
    a, b = apps
    email, _ = await register(http, a)
    wrong = {"email": email, "password": "not-the-password-at-all-42"}
    for i in range(5):  # the default threshold, alternating processes
        app = (a, b)[i % 2]
        r = await http.post(f"{app.url}/api/v1/auth/login", json=wrong)
        assert r.status == 401, await r.text()
    for app in (a, b):
        r = await http.post(
            f"{app.url}/api/v1/auth/login", json={"email": email, "password": DEFAULT_PASSWORD}
        )
        assert r.status == 429, await r.text()  # even the right password waits
        assert float(r.headers["Retry-After"]) >= 1


async def test_task_events_reach_the_other_process_and_resume(
    apps: list[App], http: aiohttp.ClientSession
) -> None:
    """A task runs on B; A's SSE clients get its events live. One of them leaves after the
    first event and resumes on B with Last-Event-ID: it gets exactly the events the client
    that stayed got after that one (no gap, no duplicate)."""
    a, b = apps
    _, headers = await register(http, a)
    count = len(DESCRIPTIONS) * 40  # long enough to resume before the task ends
    r = await http.post(
        f"{b.url}/api/v1/tasks",
        json={"kind": "batch_role_match", "params": {"job_descriptions": DESCRIPTIONS * 40}},
        headers=headers,
    )
    assert r.status == 202, await r.text()
    task_id = (await r.json())["task_id"]
    events_url = f"/api/v1/tasks/{task_id}/events"
    async with http.get(a.url + events_url, headers=headers) as stayed:
        assert stayed.status == 200, await stayed.text()
        async with http.get(a.url + events_url, headers=headers) as leaving:
            (first,) = await read_events(leaving, count=1)
        assert first.id and first.event == "progress", first
        async with http.get(
            b.url + events_url, headers={**headers, "Last-Event-ID": first.id}
        ) as resumed_resp:
            assert resumed_resp.status == 200, await resumed_resp.text()
            resumed = await read_events(resumed_resp)
        events = await read_events(stayed)
    final = assert_well_formed(events, task_id)
    assert final.event == "complete", final
    assert final.data["result"]["succeeded"] == count
    assert_well_formed(resumed, task_id)
    ids = [e.id for e in events]
    assert first.id in ids
    assert [e.id for e in resumed] == ids[ids.index(first.id) + 1 :]


async def test_websocket_receives_events_of_a_task_run_elsewhere(
    apps: list[App], http: aiohttp.ClientSession
) -> None:
    a, b = apps
    _, headers = await register(http, a)
    async with http.ws_connect(f"{a.url}/ws", headers=headers) as ws:
        welcome = await ws.receive_json(timeout=10)
        assert welcome["type"] == "welcome"
        r = await http.post(
            f"{b.url}/api/v1/tasks",
            json={"kind": "batch_role_match", "params": {"job_descriptions": DESCRIPTIONS * 3}},
            headers=headers,
        )
        assert r.status == 202, await r.text()
        channel = f"tasks:{(await r.json())['task_id']}"
        await ws.send_json({"type": "subscribe", "channel": channel, "last_event_id": "0-0"})
        kinds: list[str] = []
        async with asyncio.timeout(60):
            while not kinds or kinds[-1] not in ("complete", "failed", "cancelled"):
                msg = await ws.receive_json()
                if msg["type"] == "event" and msg["channel"] == channel:
                    kinds.append(msg["event"])
    assert kinds[-1] == "complete" and set(kinds[:-1]) <= {"progress"}, kinds


async def test_breaker_is_shared_one_half_open_probe_across_processes(
    topology: Topology, fake_ai: FakeAI
) -> None:
    """As tests/test_breaker.py checks on one Redis: failures in A open the circuit for
    B; in half-open, 20 concurrent callers across both processes let exactly 1 through."""
    name = f"smoke-{uuid.uuid4().hex[:8]}"
    options = {"consecutive_failures": 3, "break_duration_s": 0.5, "probe_lease_s": 10}
    client = breaker_client(topology.spec(), timeout_s=2.0)
    a = RedisCircuitBreaker(client, name, **options)  # type: ignore[arg-type]
    worker = await start_worker(topology.spec(), name, fake_ai.url, options)
    url = fake_ai.url + "/chat/completions"
    a_decisions: list[str] = []

    async def call_in_a(session: aiohttp.ClientSession) -> None:
        await guarded_call(a, session, url, a_decisions)

    async def state_is(want: str) -> bool:
        state: dict[str, Any] = await a.state()
        return state["state"] == want and state["shared"] is True

    try:
        await worker.wait("ready", within_s=20)
        async with aiohttp.ClientSession() as session:
            fake_ai.set(status=500)
            for _ in range(3):
                await call_in_a(session)
            assert await state_is("open")
            await worker.send(cmd="call", n=1)
            (end,) = await worker.wait("end")
            assert (end["allowed"], end["rejected"]) == (0, 1)

            await wait_until(lambda: state_is("half_open"))
            fake_ai.set(Behaviour(hold=True))
            a_decisions.clear()
            await worker.send(cmd="call", n=10)
            a_tasks = [asyncio.create_task(call_in_a(session)) for _ in range(10)]
            await fake_ai.wait_calls(4)
            async with asyncio.timeout(10), worker.cond:
                await worker.cond.wait_for(
                    lambda: len(worker.of("allowed")) + len(worker.of("rejected")) >= 11
                )
            await wait_until(lambda: _true(len(a_decisions) == 10))
            allowed = a_decisions.count("allowed") + len(worker.of("allowed"))
            rejected = a_decisions.count("rejected") + len(worker.of("rejected")) - 1
            assert (allowed, rejected) == (1, 19)
            fake_ai.release.set()
            await asyncio.gather(*a_tasks)
            await worker.wait("end", 2)
            assert fake_ai.calls == 4  # exactly one probe reached the provider
            assert await state_is("closed")
    finally:
        fake_ai.release.set()
        await worker.close()
        await client.aclose()


async def _true(value: bool) -> bool:
    return value
