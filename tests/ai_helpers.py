"""Helpers of the AI gateway and breaker tests (their own Redis DB: 13 on the local server,
or ``FLUENTPRO_TEST_AI_REDIS_URL``)."""

from __future__ import annotations

import asyncio
import json
import os
import resource
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from services.ai.cache import AICache
from services.ai.gateway import AIGateway
from services.ai.provider import OpenAIProvider, make_openai_client
from services.ai.quota import AIQuota
from services.breaker.shared import RedisCircuitBreaker, make_breaker_redis
from tests.fake_ai import FakeAI

REDIS_URL = os.environ.get("FLUENTPRO_TEST_AI_REDIS_URL", "redis://127.0.0.1:6379/13")
# Host, port and DB number of REDIS_URL, for tests that reach the server through a proxy.
REDIS_HOST, REDIS_PORT = REDIS_URL.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)
REDIS_DB = REDIS_URL.rsplit("/", 1)[1]
DEAD_REDIS_URL = "redis://127.0.0.1:1/13"


async def wait_until(
    predicate: Callable[[], Awaitable[bool]], within_s: float = 5.0, every_s: float = 0.02
) -> None:
    """Poll an async predicate on Redis state (e.g. a TTL running out, which has no event
    to await) until it holds; TimeoutError after ``within_s`` seconds."""
    async with asyncio.timeout(within_s):
        while not await predicate():  # noqa: ASYNC110 - polling Redis, not a local event
            await asyncio.sleep(every_s)


class Events:
    """Collects on_transition events and lets a test wait for one."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self._cond = asyncio.Condition()

    async def __call__(self, event: dict[str, Any]) -> None:
        async with self._cond:
            self.items.append(event)
            self._cond.notify_all()

    def states(self) -> list[tuple[str, str]]:
        return [(e["previous"], e["state"]) for e in self.items]

    async def wait_for(self, state: str, within_s: float = 5.0) -> None:
        async with asyncio.timeout(within_s), self._cond:
            await self._cond.wait_for(lambda: any(e["state"] == state for e in self.items))


def build_gateway(
    fake: FakeAI | None,
    *,
    redis_url: str = REDIS_URL,
    name: str = "ai-test",
    deadline_s: float = 5.0,
    attempt_timeout_s: float = 2.0,
    max_retries: int = 2,
    quota_calls: int | None = None,
    first_token_timeout_s: float = 2.0,
    idle_timeout_s: float = 2.0,
    local: EchoLocalEngine | None = None,
    **breaker_options: Any,
) -> AIGateway:
    """An AIGateway on the fake server (or no provider) with its own Redis clients."""
    breaker_redis = make_breaker_redis(redis_url)
    data_redis = make_breaker_redis(redis_url, timeout_s=0.5)
    provider = None
    if fake is not None:
        client = make_openai_client(
            base_url=fake.url,
            api_key="test-key",
            max_retries=max_retries,
            attempt_timeout_s=attempt_timeout_s,
        )
        provider = OpenAIProvider(client, "fake-model")
    breaker_options.setdefault("consecutive_failures", 3)
    breaker_options.setdefault("break_duration_s", 30)
    return AIGateway(
        provider=provider,
        local=local or EchoLocalEngine({"advice": {"answer": "local"}}),
        breaker=RedisCircuitBreaker(breaker_redis, name, **breaker_options),
        cache=AICache(data_redis),
        quota=AIQuota(data_redis, calls=quota_calls) if quota_calls else None,
        model_name="fake-model",
        deadline_s=deadline_s,
        first_token_timeout_s=first_token_timeout_s,
        idle_timeout_s=idle_timeout_s,
    )


async def close_gateway(gateway: AIGateway) -> None:
    """Close the gateway's HTTP and Redis clients."""
    if gateway.provider is not None:
        await gateway.provider.aclose()
    breaker = gateway.breaker
    if isinstance(breaker, RedisCircuitBreaker):
        await breaker.redis.aclose()
    await gateway.cache.redis.aclose()


class LoopTicker:
    """Measures the event loop's worst stall while running.

    The machine is shared and noisy: a gap during which the OS preempted this thread
    (an involuntary context switch) is counted by the CPU time the thread used, not by
    wall time, so only stalls caused by this process (busy code, blocking calls) count.
    ``raw_max_lag`` keeps the plain wall-clock figure.
    """

    def __init__(self, period: float = 0.005) -> None:
        self.period = period
        self.max_lag = 0.0
        self.raw_max_lag = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            wall, cpu = time.perf_counter(), time.thread_time()
            switches = resource.getrusage(resource.RUSAGE_THREAD).ru_nivcsw
            await asyncio.sleep(self.period)
            wall_gap = time.perf_counter() - wall - self.period
            preempted = resource.getrusage(resource.RUSAGE_THREAD).ru_nivcsw != switches
            lag = time.thread_time() - cpu if preempted else wall_gap
            self.max_lag = max(self.max_lag, lag)
            self.raw_max_lag = max(self.raw_max_lag, wall_gap)

    async def __aenter__(self) -> LoopTicker:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)


class EchoLocalEngine:
    """Generic engine: answers per feature from ``answers`` (or echoes the input)."""

    def __init__(
        self,
        answers: dict[str, dict[str, Any]] | None = None,
        *,
        text: str = "Here is a locally generated answer.",
    ) -> None:
        self.answers = dict(answers or {})
        self.text = text
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def complete_json(self, feature: str, user_data: dict[str, Any]) -> dict[str, Any]:
        """The configured answer for ``feature``, else ``{"echo": <user_data as JSON>}``."""
        self.calls.append((feature, user_data))
        if feature in self.answers:
            return dict(self.answers[feature])
        return {"echo": json.dumps(user_data, sort_keys=True, default=str)}

    async def stream_text(self, feature: str, user_data: dict[str, Any]) -> AsyncIterator[str]:
        """``text`` word by word."""
        self.calls.append((feature, user_data))
        words = self.text.split(" ")
        for i, word in enumerate(words):
            yield word if i == len(words) - 1 else word + " "
