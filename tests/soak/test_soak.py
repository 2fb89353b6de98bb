"""Long runs (``make soak``, marker ``slow``): connection churn against a server process,
the 10 s Redis outage, and a bigger schemathesis run.

Churn: 10,000 SSE / WebSocket connect → subscribe → disconnect cycles with steady REST
traffic alongside. After a warm-up the server's RSS grows < 5 %, and its file descriptors,
SSE/WS connection counts, PostgreSQL and Redis connections return to their baseline.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import psycopg2
import pytest
import redis.asyncio as aioredis

from handlers.config import Config
from tests.conftest import AppFactory
from tests.fake_ai import FakeAI
from tests.faults.proxy import FaultProxy
from tests.faults.support import wait_for
from tests.faults.test_redis_faults import redis_outage_scenario
from tests.processes import ROOT, free_port, server_env, stop, wait_http
from tests.security.conftest import LiveServer
from tests.security.test_schemathesis import run_schemathesis

pytestmark = pytest.mark.slow

CYCLES = int(os.environ.get("SOAK_CYCLES", "10000"))
WARMUP = CYCLES // 5  # pools, caches and allocator arenas reach their working size
PARALLEL = 50


def _proc(pid: int) -> dict[str, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {
        "rss_kb": int(fields["VmRSS"].split()[0]),
        "threads": int(fields["Threads"]),
        "fds": len(os.listdir(f"/proc/{pid}/fd")),
    }


async def _admin(session: aiohttp.ClientSession, base: str, database_url: str) -> dict[str, str]:
    """An administrator's bearer headers (role set in SQL, then a fresh login)."""
    email = f"soak-admin-{uuid.uuid4().hex[:8]}@example.com"
    body = {"email": email, "password": "copper-lantern-orbit-meadow-42"}
    async with session.post(f"{base}/api/v1/auth/register", json=body) as r:
        assert r.status == 201, await r.text()
    conn = psycopg2.connect(database_url, connect_timeout=5)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("UPDATE users SET role = 'admin' WHERE email = %s", (email,))
    finally:
        conn.close()
    async with session.post(f"{base}/api/v1/auth/login", json=body) as r:
        assert r.status == 200, await r.text()
        return {"Authorization": f"Bearer {(await r.json())['token']}"}


def _start_server(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], Any]:
    """The server with its output in a temporary file (a pipe nobody reads would fill)."""
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        [sys.executable, "-m", "server"], cwd=ROOT, env=env, stdout=log, stderr=log
    )
    return proc, log


def _pg_connections(url: str) -> int:
    conn = psycopg2.connect(url, connect_timeout=5)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
            return int(cur.fetchone()[0])
    finally:
        conn.close()


@pytest.mark.timeout(1200)
async def test_connection_churn_keeps_memory_and_resources_flat(
    config: Config, database_url: str, redis_url: str, redis: aioredis.Redis
) -> None:
    port = free_port()
    env = server_env(
        database_url,
        redis_url,
        port,
        FLUENTPRO_LIMITS_STREAMS_PER_USER="1000",
        FLUENTPRO_LIMITS_WS_PER_USER="1000",
        FLUENTPRO_LIMITS_ANONYMOUS_REQUESTS_PER_MINUTE="1000000",
        FLUENTPRO_EVENTS_SSE_PING_INTERVAL_S="1",
        FLUENTPRO_TASKS_IN_PROCESS_WORKER="false",
    )
    proc, log = _start_server(env)
    base = f"http://127.0.0.1:{port}"
    db_index = int(redis_url.rsplit("/", 1)[1])

    async def redis_clients() -> int:
        return sum(1 for c in await redis.client_list() if int(c.get("db", -1)) == db_index) - 1

    try:
        await asyncio.to_thread(wait_http, f"{base}/health/ready", 60.0, proc)
        async with aiohttp.ClientSession() as session:
            tokens = []
            for _ in range(20):
                body = {
                    "email": f"soak-{uuid.uuid4().hex[:10]}@example.com",
                    "password": "copper-lantern-orbit-meadow-42",
                }
                async with session.post(f"{base}/api/v1/auth/register", json=body) as r:
                    assert r.status == 201, await r.text()
                    tokens.append((await r.json())["token"])
            admin_headers = await _admin(session, base, database_url)

            last: dict[str, Any] = {}

            async def no_streams() -> bool:
                async with session.get(f"{base}/api/v1/system/status", headers=admin_headers) as r:
                    assert r.status == 200, await r.text()
                    last["connections"] = (await r.json())["connections"]
                    return last["connections"] == {"sse": 0, "ws": 0}

            rng = random.Random(42)
            errors: list[str] = []

            async def sse_cycle(token: str) -> None:
                async with session.get(
                    f"{base}/api/v1/onboarding/progress/stream",
                    headers={"Authorization": f"Bearer {token}"},
                ) as r:
                    assert r.status == 200, await r.text()
                    async with asyncio.timeout(10):
                        async for line in r.content:
                            if line.startswith(b"event: progress"):
                                break

            async def ws_cycle(token: str) -> None:
                async with session.ws_connect(
                    f"{base}/ws", headers={"Authorization": f"Bearer {token}"}
                ) as ws:
                    async with asyncio.timeout(10):
                        assert (await ws.receive_json())["type"] == "welcome"
                        await ws.send_json({"type": "subscribe", "channel": "onboarding", "id": 1})
                        while (await ws.receive_json()).get("id") != 1:
                            pass

            async def cycles(n: int) -> None:
                sem = asyncio.Semaphore(PARALLEL)

                async def one(i: int) -> None:
                    async with sem:
                        token = tokens[i % len(tokens)]
                        try:
                            await (sse_cycle if i % 2 else ws_cycle)(token)
                        except (AssertionError, TimeoutError, aiohttp.ClientError) as exc:
                            errors.append(f"{i}: {exc!r}"[:200])

                await asyncio.gather(*(one(i) for i in range(n)))

            stop_rest = asyncio.Event()
            rest_statuses: dict[int, int] = {}

            async def rest_traffic() -> None:
                while not stop_rest.is_set():
                    token = rng.choice(tokens)
                    h = {"Authorization": f"Bearer {token}"}
                    for method, path, body in (
                        ("GET", "/api/v1/me", None),
                        ("POST", "/api/v1/passwords/analyze", {"password": "Tr0ub4dor&3x"}),
                        (
                            "POST",
                            "/api/v1/recommendations/roles",
                            {"job_description": "Kubernetes SRE"},
                        ),
                    ):
                        async with session.request(method, base + path, json=body, headers=h) as r:
                            await r.read()
                            rest_statuses[r.status] = rest_statuses.get(r.status, 0) + 1
                    await asyncio.sleep(0.05)  # the steady pace of the background traffic

            rest = asyncio.create_task(rest_traffic())
            try:
                await cycles(WARMUP)

                # After the warm-up the pools hold their peak idle connections; anything
                # more at the end is a leak.
                await wait_for(no_streams, within_s=30, every_s=0.5, state=lambda: last)
                baseline = _proc(proc.pid)
                baseline_pg = _pg_connections(database_url)
                baseline_redis = await redis_clients()
                started = time.monotonic()
                await cycles(CYCLES - WARMUP)
                churn_s = time.monotonic() - started
            finally:
                stop_rest.set()
                await rest

            assert len(errors) <= CYCLES * 0.001, errors[:10]
            assert set(rest_statuses) <= {200}, rest_statuses

            await wait_for(no_streams, within_s=30, every_s=0.5, state=lambda: last)

            def settled() -> bool:
                now = _proc(proc.pid)
                return now["fds"] <= baseline["fds"] + 4 and now["threads"] <= baseline["threads"]

            await wait_for(settled, within_s=30, every_s=0.5, state=lambda: _proc(proc.pid))
            await wait_for(
                lambda: _pg_connections(database_url) <= baseline_pg,
                within_s=30,
                every_s=0.5,
                state=lambda: (_pg_connections(database_url), baseline_pg),
            )

            async def redis_back() -> bool:
                return await redis_clients() <= baseline_redis + 4  # pool may peak higher

            await wait_for(redis_back, within_s=30, every_s=0.5, state=lambda: baseline_redis)
            final = _proc(proc.pid)
            growth = (final["rss_kb"] - baseline["rss_kb"]) / baseline["rss_kb"]
            print(
                f"soak: {CYCLES} cycles in {churn_s:.1f}s, rss {baseline['rss_kb']} -> "
                f"{final['rss_kb']} kB ({growth:+.1%}), fds {baseline['fds']} -> {final['fds']}, "
                f"rest {rest_statuses}"
            )
            assert growth < 0.05, (baseline, final)
    finally:
        stop(proc)
        log.close()


@pytest.mark.timeout(300)
async def test_redis_down_ten_seconds(
    make_client: AppFactory, config: Config, redis_proxy: FaultProxy, fake_ai: FakeAI
) -> None:
    await redis_outage_scenario(
        make_client, config, redis_proxy, fake_ai, outage_s=10.0, requests=500
    )


@pytest.mark.timeout(900)
def test_schemathesis_long_run(live_server: LiveServer) -> None:
    run_schemathesis(live_server, max_examples=200, max_time_s=480)
    assert "unhandled error" not in live_server.log_text()
