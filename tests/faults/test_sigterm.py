"""SIGTERM under load: a real server process (tests/processes.py) is told to stop while
slow AI-backed requests are in flight and SSE / WebSocket clients are connected.

In-flight requests complete with 200, SSE streams end cleanly (EOF, no reset), WebSockets
are closed with 1001 (going away) or 1012 (service restart), and the process exits 0
within its shutdown grace period.
"""

from __future__ import annotations

import asyncio
import signal
import time
from typing import Any

import aiohttp

from handlers.config import Config
from tests.fake_ai import FakeAI
from tests.faults.support import wait_for
from tests.processes import free_port, server_env, start, stop, wait_http

GRACE_S = 5.0


async def _register(session: aiohttp.ClientSession, base: str, i: int) -> str:
    body = {
        "email": f"sigterm-{i}-{time.time_ns()}@example.com",
        "password": "copper-lantern-orbit-meadow-42",
    }
    async with session.post(f"{base}/api/v1/auth/register", json=body) as r:
        assert r.status == 201, await r.text()
        return str((await r.json())["token"])


async def test_sigterm_under_load_drains_and_exits_zero(
    config: Config, database_url: str, redis_url: str, fake_ai: FakeAI
) -> None:
    port = free_port()
    env = server_env(
        database_url,
        redis_url,
        port,
        FLUENTPRO_AI_BASE_URL=fake_ai.url,
        FLUENTPRO_AI_API_KEY="test-key",
        FLUENTPRO_AI_MAX_RETRIES="0",
        FLUENTPRO_SERVER_SHUTDOWN_GRACE_S=str(GRACE_S),
        FLUENTPRO_EVENTS_SSE_PING_INTERVAL_S="1",
        FLUENTPRO_LIMITS_STREAMS_PER_USER="100",
    )
    proc = start(["-m", "server"], env)
    base = f"http://127.0.0.1:{port}"
    try:
        await asyncio.to_thread(wait_http, f"{base}/health/ready", 60.0, proc)
        fake_ai.set(delay=1.5, data={"recommendations": [], "reasoning": ["slow provider"]})
        async with aiohttp.ClientSession() as session:
            tokens = [await _register(session, base, i) for i in range(4)]

            async def slow_request(i: int) -> tuple[int, dict[str, Any]]:
                async with session.post(
                    f"{base}/api/v1/recommendations/roles",
                    json={"job_description": f"Kubernetes SRE on-call variant {i}"},
                    headers={"Authorization": f"Bearer {tokens[i % 4]}"},
                ) as r:
                    return r.status, await r.json()

            async def sse_client(i: int) -> bytes:
                async with session.get(
                    f"{base}/api/v1/onboarding/progress/stream",
                    headers={"Authorization": f"Bearer {tokens[i % 4]}"},
                ) as r:
                    assert r.status == 200
                    return await r.read()  # until the server ends the stream cleanly

            async def ws_client(i: int) -> int | None:
                async with session.ws_connect(
                    f"{base}/ws", headers={"Authorization": f"Bearer {tokens[i % 4]}"}
                ) as ws:
                    first = await ws.receive_json()
                    assert first["type"] == "welcome"
                    async for _ in ws:
                        pass
                    return ws.close_code

            streams = [asyncio.create_task(sse_client(i)) for i in range(10)]
            sockets = [asyncio.create_task(ws_client(i)) for i in range(10)]
            requests = [asyncio.create_task(slow_request(i)) for i in range(20)]
            await wait_for(lambda: fake_ai.in_flight >= 20, within_s=10)

            proc.send_signal(signal.SIGTERM)
            sent = time.monotonic()
            async with asyncio.timeout(GRACE_S + 10):
                answers = await asyncio.gather(*requests)
                bodies = await asyncio.gather(*streams)
                codes = await asyncio.gather(*sockets)
            code = await asyncio.to_thread(proc.wait, GRACE_S + 10)
            took = time.monotonic() - sent

        assert [s for s, _ in answers] == [200] * 20, answers
        assert all(b.startswith(b"retry:") or b"event: progress" in b for b in bodies)
        assert set(codes) <= {1001, 1012}, codes
        assert code == 0, proc.stderr.read().decode()[-2000:] if proc.stderr else code
        assert took < GRACE_S + 3, took
    finally:
        stop(proc)
