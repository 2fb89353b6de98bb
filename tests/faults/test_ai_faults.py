"""The AI provider misbehaving in every way at once, under load.

The fake OpenAI-compatible server answers a shuffled mix of 500s, 429 with Retry-After,
hangs, invalid JSON and (for the streaming chat over WebSocket) cut streams. Clients must
always get an answer from the local engine (``source: local``) within the deadline; the
attempts stay bounded (one call + ``max_retries``), the breaker opens and then stops
upstream calls, and the per-user quota counts exactly the provider calls that were made.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import orjson
import redis.asyncio as aioredis

from handlers.keys import AI_GATEWAY
from services.career.prompts import CHAT_FEATURE
from tests.conftest import AppFactory
from tests.fake_ai import Behaviour, FakeAI
from tests.faults.support import LagProbe, Tally, timed, wait_for
from tests.helpers import register_user

JD = "Python, SQL, dashboards, stakeholder reporting, A/B tests for a data team"
DEADLINE_S = 2.0
MAX_RETRIES = 1

MIX = [
    Behaviour(status=500),
    Behaviour(status=429, retry_after=0.1),
    Behaviour(hang=True),
    Behaviour(content="this is not { json"),
    Behaviour(content='{"recommendations": "wrong shape"}'),
    Behaviour(deltas=["a", "b", "c", "d"], cut_after=2),
]


async def test_provider_chaos_under_load_falls_back_bounded(
    make_client: AppFactory, fake_ai: FakeAI, redis: aioredis.Redis
) -> None:
    client = await make_client(
        ai={
            "base_url": fake_ai.url,
            "max_retries": MAX_RETRIES,
            "deadline_s": DEADLINE_S,
            "attempt_timeout_s": 1.0,
            "quota_per_minute": 1000,
        },
        breaker={
            "consecutive_failures": 1000,
            "minimum_throughput": 20,
            "failure_ratio": 0.5,
            "break_duration_s": 60,
        },
    )
    users = [await register_user(client) for _ in range(6)]
    rng = random.Random(7)
    script = [rng.choice(MIX) for _ in range(400)]
    fake_ai.set(Behaviour(status=500))  # after the script runs out (set() clears a script)
    fake_ai.script(*script)

    tally = Tally()
    answers: list[dict[str, Any]] = []

    async def ask(i: int) -> None:
        who = users[i % len(users)]
        status, text = await timed(
            tally,
            "roles",
            lambda: client.post(
                "/api/v1/recommendations/roles",
                json={"job_description": f"{JD} variant {i}", "limit": 3},
                headers=who.headers,
            ),
        )
        if status == 200:
            answers.append(orjson.loads(text))

    started = time.monotonic()
    async with LagProbe() as lag:
        await asyncio.gather(*(ask(i) for i in range(60)))
    elapsed = time.monotonic() - started

    assert tally.statuses == {200: 60}, (tally.statuses, tally.bad)
    assert {a["source"] for a in answers} == {"local"}
    assert all(a["recommendations"] for a in answers)
    # Bounded: each request ends within the deadline plus the local engine's time.
    assert max(tally.durations) < DEADLINE_S + 3.0, sorted(tally.durations)[-3:]
    assert elapsed < 20
    assert lag.p95() < 0.1, (lag.p95(), lag.max_lag_s)

    # The breaker opened on the failure ratio; now no request reaches the provider.
    gateway = client.app[AI_GATEWAY]
    state = await gateway.breaker.state()
    assert state["state"] == "open", state
    calls_before = fake_ai.calls
    r = await client.post(
        "/api/v1/recommendations/roles",
        json={"job_description": f"{JD} after the breaker opened"},
        headers=users[0].headers,
    )
    assert r.status == 200 and (await r.json())["source"] == "local"
    assert fake_ai.calls == calls_before

    # Attempts bounded, quota exact: one quota hit per provider call made through the
    # breaker; each made at most 1 + max_retries HTTP attempts.
    counted = 0
    async for key in redis.scan_iter(match="*quota*"):
        counted += int(await redis.get(key) or 0)
    assert 1 <= counted <= 60
    assert counted <= fake_ai.calls <= counted * (1 + MAX_RETRIES), (counted, fake_ai.calls)


async def test_cut_and_hanging_streams_fall_back_to_local(
    make_client: AppFactory, fake_ai: FakeAI
) -> None:
    """The streaming path (what the WebSocket chat uses): 30 concurrent streams, half cut
    after one delta, half hanging before the first token."""
    client = await make_client(
        ai={
            "base_url": fake_ai.url,
            "max_retries": 0,
            "deadline_s": DEADLINE_S,
            "first_token_timeout_s": 1.0,
            "idle_timeout_s": 1.0,
        },
        breaker={"consecutive_failures": 1000, "minimum_throughput": 1000},
    )
    gateway = client.app[AI_GATEWAY]
    cut = Behaviour(deltas=["Hello", " there", " friend"], cut_after=1)
    fake_ai.set(Behaviour(hang=True))
    fake_ai.script(*([cut, Behaviour(hang=True)] * 15))

    async def consume(i: int) -> tuple[list[str], bool, float]:
        started = time.monotonic()
        sources: list[str] = []
        reset = False
        async with asyncio.timeout(10):
            async for chunk in gateway.stream_text(
                CHAT_FEATURE, system="You are a coach.", user_data={"message": f"question {i}"}
            ):
                sources.append(chunk.source)
                reset = reset or chunk.reset
        return sources, reset, time.monotonic() - started

    results = await asyncio.gather(*(consume(i) for i in range(30)))
    for sources, reset, took in results:
        assert sources and sources[-1] == "local", sources  # the answer ends locally
        if sources[0] == "ai":  # cut after a delta: told to reset, then the local answer
            assert reset
        assert took < 1.0 + 2.0, took  # first-token / idle limit, never a hang
    assert sum(1 for s, _, _ in results if s[0] == "ai") >= 1
    # Every upstream stream was closed (no response left open on the fake).
    await wait_for(lambda: fake_ai.in_flight == 0, within_s=5)
