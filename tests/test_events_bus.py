"""EventBus and EventHub against the suite's real Redis DB."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from handlers.sse import event_frame
from services.events import EventBus, EventHub, EventStats, InvalidEventId, SlowConsumer
from services.events.bus import stream_key

RETENTION = 1000


def _client(url: str) -> aioredis.Redis:
    return aioredis.Redis.from_url(
        url, socket_timeout=5, socket_connect_timeout=2, retry=Retry(NoBackoff(), 0)
    )


@pytest.fixture
async def bus(redis: aioredis.Redis) -> EventBus:
    return EventBus(redis, RETENTION, 3600, stats=EventStats())


@pytest.fixture
async def hub(bus: EventBus, redis_url: str) -> AsyncIterator[EventHub]:
    reader = _client(redis_url)
    hub = EventHub(reader, bus, 32, block_ms=200)
    await hub.start()
    yield hub
    await hub.stop()
    await reader.aclose()


async def _collect(sub: object, n: int) -> list[str]:
    out: list[str] = []
    async with asyncio.timeout(5):
        while len(out) < n:
            out.extend(ev.id for ev in await sub.next_batch())  # type: ignore[attr-defined]
    return out


async def test_publish_sets_maxlen_and_expiry(bus: EventBus, redis: aioredis.Redis) -> None:
    eid = await bus.publish("c1", "progress", {"p": 1})
    assert "-" in eid
    assert 0 < await redis.ttl(stream_key("c1")) <= 3600
    events = await bus.read_range("c1", (0, 0))
    assert [(e.id, e.event, e.data) for e in events] == [(eid, "progress", {"p": 1})]
    assert event_frame(events[0]) == f'id: {eid}\nevent: progress\ndata: {{"p":1}}\n\n'.encode()


async def test_read_after_and_retention_reset(bus: EventBus, redis: aioredis.Redis) -> None:
    pipe = redis.pipeline(transaction=False)
    for i in range(1600):
        pipe.xadd(stream_key("big"), {"e": "n", "d": str(i)}, maxlen=RETENTION, approximate=True)
    ids = [x.decode() for x in await pipe.execute()]
    assert await redis.xlen(stream_key("big")) < 1600
    recent = await bus.read_after("big", ids[1500], count=1000)
    assert recent.reset_oldest_id is None
    assert [e.id for e in recent.events] == ids[1501:]
    old = await bus.read_after("big", ids[0], count=5)
    assert old.reset_oldest_id is not None and old.reset_oldest_id != ids[1]
    assert old.events[0].id == old.reset_oldest_id
    with pytest.raises(InvalidEventId):
        await bus.read_after("big", "not-an-id")


async def test_replay_then_live_without_gap_or_duplicate(bus: EventBus, hub: EventHub) -> None:
    first = [await bus.publish("t", "n", {"i": i}) for i in range(5)]
    sub = await hub.subscribe("t", first[1])
    concurrent = [await bus.publish("t", "n", {"i": i}) for i in range(5, 60)]
    got = await _collect(sub, 3 + 55)
    assert got == first[2:] + concurrent
    sub.close()
    assert await sub.next_batch() == []
    assert hub.subscriber_count("t") == 0


async def test_live_only_subscription_and_late_channel(bus: EventBus, hub: EventHub) -> None:
    a = await hub.subscribe("a")
    await bus.publish("a", "n", 1)
    assert len(await _collect(a, 1)) == 1
    # A second channel added while the reader blocks on the first is read at once.
    b = await hub.subscribe("b")
    async with asyncio.timeout(1):  # well under a reconnect, way under a block period x5
        eid = await bus.publish("b", "n", 2)
        assert await _collect(b, 1) == [eid]


async def test_progress_coalesces_then_slow_consumer(bus: EventBus, hub: EventHub) -> None:
    sub = await hub.subscribe("p")
    first = await bus.publish("p", "progress", {"i": -1})
    assert await _collect(sub, 1) == [first]  # caught up: now live
    for i in range(100):
        await bus.publish("p", "progress", {"i": i})
    last = await bus.publish("p", "progress", {"i": "last"})
    await hub.stats.wait_until(lambda s: s.coalesced > 0, 5)
    assert sub.queued <= 32
    events = []
    async with asyncio.timeout(5):
        while not events or events[-1].id != last:
            events.extend(await sub.next_batch())
    assert events[-1].data == {"i": "last"}
    assert len(events) < 101
    # Non-coalescing events overflow the bounded queue: the subscriber is dropped.
    for i in range(80):
        await bus.publish("p", "note", {"i": i})
    await hub.stats.wait_until(lambda s: s.dropped == 1, 5)
    assert hub.stats.queue_peak <= 32
    with pytest.raises(SlowConsumer) as info:
        await sub.next_batch()
    assert info.value.last_id == last
    assert hub.subscriber_count("p") == 0


async def test_revocation_calls_closers(hub: EventHub, redis: aioredis.Redis) -> None:
    closed = asyncio.Event()
    hub.on_revoked("s-1", closed.set)
    other = asyncio.Event()
    hub.on_revoked("s-2", other.set)
    async with asyncio.timeout(5):
        while not closed.is_set():  # the listener may still be subscribing: publish again
            await redis.publish("fluentpro:revoked", '{"user_id": "u", "session_id": "s-1"}')
            with __import__("contextlib").suppress(TimeoutError):
                async with asyncio.timeout(0.2):
                    await closed.wait()
    assert not other.is_set()
