"""SIGKILL a Redis master under REST, SSE, WebSocket and task traffic (Cluster, Sentinel).

While the master is lost, requests answer (their usual answer through an in-process
fallback, or 503 with Retry-After), never 500 and never past their deadline; the replica
is promoted within the configured timeouts; traffic recovers with no app restart; every
task acknowledged with 202 exists and finishes; every SSE/WS watcher of a task reached
its final event (or was told ``reset``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator

import aiohttp
import pytest

from tests.redis_servers import Topology, start_cluster, start_sentinel, wait_until
from tests.topologies.conftest import KINDS, App, start_apps, stop_apps
from tests.topologies.traffic import REQUEST_DEADLINE_S, Traffic

pytestmark = pytest.mark.timeout(240)

FAILOVER_WITHIN_S = 15.0  # detection (0.8 s Sentinel, 1.5 s cluster) + election, with room
RECOVER_WITHIN_S = 20.0  # after the promotion, every kind of request succeeds again
BEFORE_KILL_S = 2.0


@pytest.fixture(params=KINDS)
def fresh_topology(request: pytest.FixtureRequest) -> Iterator[Topology]:
    """A topology of its own: this test kills its master."""
    from tests.topologies.conftest import _need_redis

    _need_redis()
    topo = start_cluster() if request.param == "cluster" else start_sentinel()
    yield topo
    topo.stop()


@pytest.fixture
def fresh_apps(database_url: str, fresh_topology: Topology) -> Iterator[list[App]]:
    started = start_apps(database_url, fresh_topology, 1, FLUENTPRO_TASKS_IN_PROCESS_WORKER="false")
    try:
        started += start_apps(database_url, fresh_topology, 1)
        yield started
    finally:
        stop_apps(started)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def kill_a_master(topo: Topology) -> tuple[int, float]:
    """SIGKILL one master; returns its port and when."""
    victim = topo.masters()[0]
    victim.kill()
    return victim.port, time.monotonic()


def promoted(topo: Topology, dead_port: int) -> bool:
    if topo.kind == "cluster":
        return len(topo.masters()) == 3 and topo.cluster_ok()
    port = topo.sentinel_master_port()
    return port is not None and port != dead_port and any(s.port == port for s in topo.masters())


async def all_ok(traffic: Traffic, apps: list[App]) -> bool:
    """Every app is ready and serves a cached-session request, a rate-limited one and a
    login (throttle) with 200."""
    for app in apps:
        for what, method, path, body in (
            ("ready", "GET", "/health/ready", None),
            ("me", "GET", "/api/v1/me", None),
            ("analyze", "POST", "/api/v1/passwords/analyze", {"password": "ordinary words"}),
        ):
            status, _ = await traffic.call(
                what, method, app.url + path, json=body, headers=traffic.headers
            )
            if status != 200:
                return False
    return True


async def test_master_killed_under_traffic(
    fresh_topology: Topology,
    fresh_apps: list[App],
    http: aiohttp.ClientSession,
) -> None:
    topo, (a, b) = fresh_topology, fresh_apps
    traffic = Traffic([a, b], http)
    await traffic.setup()
    loops = [
        asyncio.create_task(traffic.rest_loop(a)),
        asyncio.create_task(traffic.rest_loop(b)),
        asyncio.create_task(traffic.task_loop(b, [a, b])),
    ]
    loop = asyncio.get_running_loop()
    try:
        await asyncio.sleep(BEFORE_KILL_S)  # traffic flowing before the fault
        assert traffic.statuses().get(200, 0) > 0, traffic.statuses()
        dead_port, killed_at = await loop.run_in_executor(None, kill_a_master, topo)
        await loop.run_in_executor(
            None,
            lambda: wait_until(
                lambda: promoted(topo, dead_port), "a replica promoted", FAILOVER_WITHIN_S
            ),
        )
        promoted_at = time.monotonic()
        async with asyncio.timeout(RECOVER_WITHIN_S):
            while not await all_ok(traffic, [a, b]):  # noqa: ASYNC110 - polling the apps
                await asyncio.sleep(0.2)
        recovered_at = time.monotonic()
    finally:
        traffic.stopping.set()
        await asyncio.gather(*loops)

    # No 500, nothing past its deadline, every 503 says when to come back.
    statuses = traffic.statuses()
    assert not [s for s in statuses if s >= 500 and s != 503], statuses
    slowest = max(x.elapsed_s for x in traffic.answers)
    assert slowest < REQUEST_DEADLINE_S, slowest
    assert all(x.retry_after for x in traffic.answers if x.status == 503)
    assert statuses.get(0, 0) == 0, "a request got no HTTP answer"
    assert promoted_at - killed_at < FAILOVER_WITHIN_S
    assert recovered_at - promoted_at < RECOVER_WITHIN_S
    # Every acknowledged task is in PostgreSQL and finishes.
    assert traffic.tasks
    for task_id in traffic.tasks:
        status, body = await traffic.call(
            "task", "GET", f"{b.url}/api/v1/tasks/{task_id}", headers=traffic.headers
        )
        assert status == 200, (task_id, status)
        assert body["status"] == "succeeded", body
    # Every watcher saw its task to the end, or was told its position was lost.
    for watch in traffic.watches:
        assert watch.final == "complete" or watch.resets > 0, (watch, a.log_tail())
        assert watch.ids == sorted(set(watch.ids), key=watch.ids.index), watch  # no duplicate
    print(
        f"\n{topo.kind}: promoted {promoted_at - killed_at:.1f}s after the kill, "
        f"recovered {recovered_at - promoted_at:.1f}s later; answers {statuses}; "
        f"{len(traffic.tasks)} tasks, {len(traffic.watches)} watchers, "
        f"{sum(w.reconnects for w in traffic.watches)} reconnects, "
        f"{sum(w.resets for w in traffic.watches)} resets"
    )
