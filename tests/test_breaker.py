"""Circuit breaker: semantics (shared and local), two OS processes, Redis outages."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import pytest
from redis.asyncio import Redis

from services.breaker.registry import BreakerRegistry
from services.breaker.shared import (
    CircuitOpen,
    LocalCircuitBreaker,
    RedisCircuitBreaker,
    make_breaker_redis,
)
from services.errors import NotFound
from tests.ai_helpers import (
    DEAD_REDIS_URL,
    REDIS_DB,
    REDIS_HOST,
    REDIS_PORT,
    REDIS_URL,
    Events,
    LoopTicker,
    wait_until,
)
from tests.breaker_helpers import guarded_call, start_worker
from tests.fake_ai import Behaviour, FakeAI

Breaker = RedisCircuitBreaker | LocalCircuitBreaker
Factory = Callable[..., Breaker]


@pytest.fixture(params=["redis", "local"])
async def make(request: pytest.FixtureRequest, redis13: Redis) -> AsyncIterator[Factory]:
    """Build breakers of one kind; the same tests run on the shared and the local one."""
    clients: list[Redis] = []

    def factory(name: str = "b", **options: Any) -> Breaker:
        if request.param == "local":
            return LocalCircuitBreaker(name, **options)
        client = make_breaker_redis(REDIS_URL)
        clients.append(client)
        return RedisCircuitBreaker(client, name, **options)

    yield factory
    for client in clients:
        await client.aclose()


async def fail(breaker: Breaker, n: int = 1) -> None:
    for _ in range(n):
        await breaker.record_failure(await breaker.acquire())


async def succeed(breaker: Breaker, n: int = 1) -> None:
    for _ in range(n):
        await breaker.record_success(await breaker.acquire())


async def test_consecutive_failures_open_then_one_probe_closes(make: Factory) -> None:
    events = Events()
    b = make(consecutive_failures=3, break_duration_s=0.3, on_transition=events)
    await fail(b, 2)
    await succeed(b)  # a success resets the consecutive count
    await fail(b, 2)
    assert (await b.state())["state"] == "closed"
    await fail(b)
    state = await b.state()
    assert state["state"] == "open" and state["opened_at"] is not None
    with pytest.raises(CircuitOpen) as info:
        await b.acquire()
    assert 0 < info.value.retry_after <= 0.3 and info.value.name == "b"
    await wait_until(lambda: _is(b, "half_open"))
    probe = await b.acquire()
    assert probe.probe
    for _ in range(5):
        with pytest.raises(CircuitOpen):
            await b.acquire()  # exactly one probe
    await b.record_success(probe)
    assert (await b.state())["state"] == "closed"
    await succeed(b)
    assert events.states() == [("closed", "open"), ("open", "half_open"), ("half_open", "closed")]
    assert {e["name"] for e in events.items} == {"b"}
    assert all(e["at"].endswith("+00:00") for e in events.items)


async def test_failed_probe_reopens(make: Factory) -> None:
    b = make(consecutive_failures=1, break_duration_s=0.2)
    await fail(b)
    await wait_until(lambda: _is(b, "half_open"))
    await fail(b)
    assert (await b.state())["state"] == "open"


async def test_failure_ratio_needs_minimum_throughput(make: Factory) -> None:
    b = make(failure_ratio=0.5, minimum_throughput=10, consecutive_failures=100)
    for _ in range(4):
        await fail(b)
        await succeed(b)
    assert (await b.state()) | {"opened_at": None} == {
        "name": "b",
        "state": "closed",
        "failures": 4,
        "opened_at": None,
        "shared": isinstance(b, RedisCircuitBreaker),
    }
    await succeed(b)
    await fail(b)  # 10 calls, 5 failures: ratio 0.5 reached with the minimum throughput
    assert (await b.state())["state"] == "open"


async def test_dead_probers_lease_expires(make: Factory) -> None:
    b = make(consecutive_failures=1, break_duration_s=0.1, probe_lease_s=0.3)
    await fail(b)
    await wait_until(lambda: _is(b, "half_open"))
    await b.acquire()  # this prober "dies": never reports
    with pytest.raises(CircuitOpen):
        await b.acquire()
    started = time.monotonic()
    await wait_until(lambda: _can_acquire(b))
    assert 0.15 < time.monotonic() - started < 1.0


async def test_released_probe_frees_the_lease(make: Factory) -> None:
    b = make(consecutive_failures=1, break_duration_s=0.1)
    await fail(b)
    await wait_until(lambda: _is(b, "half_open"))
    await b.release(await b.acquire())
    assert (await b.acquire()).probe


async def test_late_results_of_an_earlier_period_are_ignored(make: Factory) -> None:
    b = make(consecutive_failures=2)
    late = await b.acquire()
    await fail(b, 2)
    await b.reset()
    await b.record_failure(late)
    await fail(b)
    assert (await b.state())["state"] == "closed"


async def test_guard_records_failures_not_cancellations(make: Factory) -> None:
    b = make(consecutive_failures=2)
    with pytest.raises(ZeroDivisionError):
        async with b.guard():
            1 / 0  # noqa: B018
    blocker = asyncio.Event()

    async def cancelled() -> None:
        async with b.guard():
            await blocker.wait()

    task = asyncio.create_task(cancelled())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with b.guard():
        pass
    assert (await b.state())["state"] == "closed"


async def test_isolate_reset_registry_and_transitions(make: Factory) -> None:
    events = Events()
    registry = BreakerRegistry()
    registry.add(make("ai", on_transition=events))
    registry.add(make("other"))
    isolated = await registry.isolate("ai")
    assert isolated["state"] == "isolated" and isolated["opened_at"] is not None
    with pytest.raises(CircuitOpen):
        await registry.get("ai").acquire()
    states = {s["name"]: s["state"] for s in await registry.states()}
    assert states == {"ai": "isolated", "other": "closed"}
    assert (await registry.reset("ai"))["state"] == "closed"
    await succeed(registry.get("ai"))
    assert events.states() == [("closed", "isolated"), ("isolated", "closed")]
    with pytest.raises(NotFound):
        await registry.isolate("nope")


async def test_registry_create_builds_shared_breakers(redis13: Redis) -> None:
    events = Events()
    registry = BreakerRegistry(redis13, on_transition=events)
    b = registry.create("x", consecutive_failures=1)
    assert registry.create("x") is b and isinstance(b, RedisCircuitBreaker)
    await fail(b)
    await events.wait_for("open")


async def _is(b: Breaker, state: str) -> bool:
    return (await b.state())["state"] == state


async def _can_acquire(b: Breaker) -> bool:
    try:
        await b.acquire()
    except CircuitOpen:
        return False
    return True


# -- two OS processes ----------------------------------------------------------------------
async def test_two_processes_share_one_breaker(fake_ai: FakeAI, redis13: Redis) -> None:
    options = {"consecutive_failures": 3, "break_duration_s": 0.5, "probe_lease_s": 10}
    events = Events()
    a = RedisCircuitBreaker(redis13, "shared", **options, on_transition=events)  # type: ignore[arg-type]
    worker = await start_worker(REDIS_URL, "shared", fake_ai.url, options)
    url = fake_ai.url + "/chat/completions"
    a_decisions: list[str] = []

    async def call_in_a(session: aiohttp.ClientSession) -> None:
        await guarded_call(a, session, url, a_decisions)

    try:
        await worker.wait("ready")
        async with aiohttp.ClientSession() as session:
            # failures in process A open the circuit for process B
            fake_ai.set(status=500)
            for _ in range(3):
                await call_in_a(session)
            assert (await a.state())["state"] == "open"
            await worker.send(cmd="call", n=1)
            (end,) = await worker.wait("end")
            assert (end["allowed"], end["rejected"]) == (0, 1)
            assert fake_ai.calls == 3

            # half-open: 20 concurrent callers across both processes → exactly 1 upstream
            await wait_until(lambda: _is(a, "half_open"))
            fake_ai.set(Behaviour(hold=True))
            a_decisions.clear()
            await worker.send(cmd="call", n=10)
            a_tasks = [asyncio.create_task(call_in_a(session)) for _ in range(10)]
            async with asyncio.timeout(10), worker.cond:
                await worker.cond.wait_for(
                    lambda: len(worker.of("allowed")) + len(worker.of("rejected")) >= 11
                )
            await fake_ai.wait_calls(4)
            await wait_until(lambda: _true(len(a_decisions) == 10))
            allowed = a_decisions.count("allowed") + len(worker.of("allowed"))
            rejected = a_decisions.count("rejected") + len(worker.of("rejected")) - 1
            assert (allowed, rejected) == (1, 19)
            fake_ai.release.set()
            await asyncio.gather(*a_tasks)
            await worker.wait("end", 2)
            assert fake_ai.calls == 4  # exactly one probe reached the server

            # the probe's success closed it for both processes
            assert (await a.state())["state"] == "closed"
            await worker.send(cmd="state")
            (state,) = await worker.wait("state")
            assert state["state"] == "closed" and state["shared"] is True
            fake_ai.set(data={"answer": "ok"})
            await worker.send(cmd="call", n=1)
            ends = await worker.wait("end", 3)
            assert (ends[-1]["allowed"], ends[-1]["rejected"]) == (1, 0)
            assert fake_ai.calls == 5
        # each transition was reported once, by the process that made it
        assert ("closed", "open") in events.states()
    finally:
        fake_ai.release.set()
        await worker.close()


async def _true(value: bool) -> bool:
    return value


# -- Redis outages -------------------------------------------------------------------------
async def test_unreachable_redis_degrades_to_local_breaker(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="services.breaker.shared")
    client = make_breaker_redis(DEAD_REDIS_URL)
    b = RedisCircuitBreaker(client, "down", consecutive_failures=3, break_duration_s=30)
    try:
        async with LoopTicker() as ticker:
            started = time.monotonic()
            await succeed(b, 5)
            await fail(b, 3)
            with pytest.raises(CircuitOpen):
                await b.acquire()
            state = await b.state()
            assert state["state"] == "open" and state["shared"] is False
            assert time.monotonic() - started < 0.5
        assert ticker.max_lag < 0.05, (ticker.max_lag, ticker.raw_max_lag)
        degraded = [r for r in caplog.records if "in-process breaker" in r.getMessage()]
        assert len(degraded) == 1  # logged once
    finally:
        await client.aclose()


class RedisProxy:
    """A TCP proxy to the test Redis that can be switched off and on (same port)."""

    def __init__(self) -> None:
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.transport.abort()
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(REDIS_HOST, int(REDIS_PORT))
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}


async def test_breaker_returns_to_shared_state_when_redis_answers_again(
    redis13: Redis,
) -> None:
    proxy = RedisProxy()
    await proxy.start()
    client = make_breaker_redis(f"redis://127.0.0.1:{proxy.port}/{REDIS_DB}")
    b = RedisCircuitBreaker(client, "flaky", consecutive_failures=2)
    try:
        await fail(b, 2)
        assert (await b.state()) | {"opened_at": None} == {
            "name": "flaky",
            "state": "open",
            "failures": 2,
            "opened_at": None,
            "shared": True,
        }
        await proxy.stop()
        state = await b.state()
        assert state["shared"] is False and state["state"] == "closed"  # local starts fresh
        await succeed(b)
        await proxy.start()
        await wait_until(lambda: _is_shared(b), within_s=3)
        assert (await b.state())["state"] == "open"  # the shared state is back
    finally:
        await proxy.stop()
        await client.aclose()


async def _is_shared(b: RedisCircuitBreaker) -> bool:
    return (await b.state())["shared"] is True
