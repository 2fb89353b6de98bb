"""The live connection drops (Redis restarted, a network cut) and streams get lost: no
event is lost or doubled across a reconnect, and a position the history no longer knows
ends in a ``reset`` rather than a silent gap. Real Redis (the suite's private server)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from services.events import EventBus, EventHub, EventStats, SlowConsumer, Subscription
from services.events.bus import stream_key


def _client(url: str) -> aioredis.Redis:
    return aioredis.Redis.from_url(
        url, socket_timeout=5, socket_connect_timeout=2, retry=Retry(NoBackoff(), 0)
    )


@pytest.fixture
async def bus(redis: aioredis.Redis) -> EventBus:
    return EventBus(redis, 1000, 3600, stats=EventStats())


@pytest.fixture
async def hub(bus: EventBus, redis_url: str) -> AsyncIterator[EventHub]:
    reader = _client(redis_url)
    hub = EventHub(reader, bus, 256, block_ms=200)
    await hub.start()
    yield hub
    await hub.stop()
    await reader.aclose()


async def _kill_live_connections(redis: aioredis.Redis) -> None:
    """Cut every pub/sub connection of the server (on the suite's own Redis: ours)."""
    await redis.execute_command("CLIENT", "KILL", "TYPE", "pubsub")


async def _ids(sub: Subscription, n: int, within: float = 10) -> list[str]:
    out: list[str] = []
    async with asyncio.timeout(within):
        while len(out) < n:
            out.extend(ev.id for ev in await sub.next_batch())
    return out


async def test_events_published_while_the_live_connection_is_down_arrive_once_in_order(
    bus: EventBus, hub: EventHub, redis: aioredis.Redis
) -> None:
    subs = [
        await hub.subscribe("cut:a"),
        await hub.subscribe("cut:a"),
        await hub.subscribe("cut:b"),
    ]
    sent_a = [await bus.publish("cut:a", "n", {"i": i}) for i in range(20)]
    resyncs = hub.stats.hub_resyncs
    await _kill_live_connections(redis)
    # While the hub reconnects these reach only the history (or race the resubscribe).
    sent_a += [await bus.publish("cut:a", "n", {"i": i}) for i in range(20, 200)]
    sent_b = [await bus.publish("cut:b", "n", {"i": i}) for i in range(50)]
    await hub.stats.wait_until(lambda s: s.hub_resyncs > resyncs, 10)
    sent_a += [await bus.publish("cut:a", "n", {"i": i}) for i in range(200, 220)]
    assert await _ids(subs[0], len(sent_a)) == sent_a
    assert await _ids(subs[1], len(sent_a)) == sent_a
    assert await _ids(subs[2], len(sent_b)) == sent_b
    assert hub.stats.hub_resyncs >= 1 and hub.stats.hub_resets == 0
    # Nothing doubled behind them.
    await asyncio.sleep(0.3)
    assert all(s.poll() == [] for s in subs)


async def _after_millisecond_of(redis: aioredis.Redis, event_id: str) -> None:
    """Wait until the Redis clock is past the millisecond of ``event_id``."""
    ms = int(event_id.split("-")[0])
    while True:
        seconds, micros = await redis.time()
        if seconds * 1000 + micros // 1000 > ms:
            return
        await asyncio.sleep(0.001)


async def test_a_stream_lost_while_disconnected_ends_subscribers_then_resume_resets(
    bus: EventBus, hub: EventHub, redis: aioredis.Redis
) -> None:
    sub = await hub.subscribe("lost:x")
    seen = [await bus.publish("lost:x", "n", {"i": i}) for i in range(5)]
    assert await _ids(sub, 5) == seen
    await _kill_live_connections(redis)
    # The stream is lost (a Redis restart without persistence, a failover that missed
    # writes) and a new one starts: the hub's position is unknown to it.
    await redis.delete(stream_key("lost:x"))
    # A real loss takes far longer than a millisecond. Here the new stream must not start
    # within the millisecond of the lost one's last id: ids are <ms>-<seq> and carry no
    # epoch, so its first ids would repeat that id (docs/realtime.md, "Guarantees").
    await _after_millisecond_of(redis, seen[-1])
    fresh = [await bus.publish("lost:x", "n", {"i": i}) for i in range(3)]
    with pytest.raises(SlowConsumer) as info:
        await _ids(sub, 1)
    assert info.value.last_id == seen[-1]
    assert hub.stats.hub_resets == 1
    # The client resumes from its position: told to reset, then given what is retained.
    again = await hub.subscribe("lost:x", info.value.last_id)
    assert again.reset_oldest_id == fresh[0]
    assert await _ids(again, 3) == fresh
    again.close()


async def test_resume_from_an_id_the_stream_does_not_know_is_a_reset(
    bus: EventBus, redis: aioredis.Redis
) -> None:
    # The lost stream's ids lie in the past: within one millisecond a re-created stream
    # would issue the very same ids again (the limit docs/realtime.md states).
    old = [f"{1_000 + i}-0" for i in range(3)]
    for eid in old:
        await redis.xadd(stream_key("gone:y"), {"e": "n", "d": "1", "p": "e0"}, id=eid)
    await redis.delete(stream_key("gone:y"))
    new = [await bus.publish("gone:y", "n", {"i": i}) for i in range(2)]
    # An id of the lost stream (older or newer than the new one's entries): reset.
    assert await bus.check_retention("gone:y", old[1]) == new[0]
    newest = new[-1].split("-")
    future = f"{int(newest[0]) + 60_000}-0"
    assert await bus.check_retention("gone:y", future) == new[0]
    # A known id resumes; "0-0" replays all retained history without a reset.
    assert await bus.check_retention("gone:y", new[0]) is None
    assert await bus.check_retention("gone:y", "0-0") is None
    result = await bus.read_after("gone:y", old[1])
    assert result.reset_oldest_id == new[0] and [e.id for e in result.events] == new
    # No stream at all: nothing retained, said so ("0-0": replay from the start).
    await redis.delete(stream_key("gone:y"))
    assert await bus.check_retention("gone:y", new[0]) == "0-0"


async def test_publish_is_one_script_and_carries_the_id_live(
    bus: EventBus, redis: aioredis.Redis, redis_url: str
) -> None:
    listener = _client(redis_url)
    pubsub = listener.pubsub()
    await pubsub.execute_command("SSUBSCRIBE", stream_key("wire:z"))
    async with asyncio.timeout(5):
        while (await pubsub.parse_response(block=False, timeout=1)) is None:
            pass  # the confirmation
        eid = await bus.publish("wire:z", "progress", {"p": 1})
        msg = None
        while msg is None:
            msg = await pubsub.parse_response(block=False, timeout=1)
    await pubsub.aclose()
    await listener.aclose()
    kind, channel, payload = msg
    assert (kind, channel) == (b"smessage", stream_key("wire:z").encode())
    got_id, epoch, event, data = payload.split(b"\n", 3)
    assert (got_id.decode(), event, data) == (eid, b"progress", b'{"p":1}')
    rows = await redis.xrange(stream_key("wire:z"))
    assert rows[0][0].decode() == eid and rows[0][1][b"p"] == epoch
    with pytest.raises(ValueError):
        await bus.publish("wire:z", "bad\nname", {})
