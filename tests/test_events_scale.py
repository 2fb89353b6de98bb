"""The event bus at scale, against the suite's real Redis: per-event cost independent of
the number of channels, resume under load (a property test), and no work for a process
without subscribers of a channel (two real OS processes)."""

from __future__ import annotations

import asyncio
import json
import random
import sys
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from services.events import EventBus, EventHub, EventStats, SlowConsumer, Subscription
from services.events.bus import stream_key
from tests.processes import ROOT


def _client(url: str) -> aioredis.Redis:
    return aioredis.Redis.from_url(
        url,
        socket_timeout=5,
        socket_connect_timeout=2,
        retry=Retry(NoBackoff(), 0),
        max_connections=64,
    )


@pytest.fixture
async def bus(redis: aioredis.Redis) -> EventBus:
    return EventBus(redis, 1000, 3600, stats=EventStats(), max_concurrency=32)


@pytest.fixture
async def hub(bus: EventBus, redis_url: str) -> AsyncIterator[EventHub]:
    reader = _client(redis_url)
    hub = EventHub(reader, bus, 64, block_ms=500)
    await hub.start()
    yield hub
    await hub.stop()
    await reader.aclose()


async def _commands(redis: aioredis.Redis) -> int:
    """Commands the Redis server has run so far (INFO commandstats; scripts' inner ones too)."""
    info: dict[str, Any] = await redis.info("commandstats")
    return sum(int(v["calls"]) for v in info.values())


async def _subscribe_all(hub: EventHub, channels: list[str]) -> dict[str, Subscription]:
    subs: dict[str, Subscription] = {}
    for i in range(0, len(channels), 500):
        part = channels[i : i + 500]
        for ch, sub in zip(part, await asyncio.gather(*map(hub.subscribe, part)), strict=True):
            subs[ch] = sub
    return subs


async def _publish_random(
    bus: EventBus, channels: list[str], n: int, rng: random.Random
) -> dict[str, list[str]]:
    """``n`` events to random channels (16 publishers at once); ids per channel in order."""
    targets = [rng.choice(channels) for _ in range(n)]
    sent: dict[str, list[tuple[tuple[int, int], str]]] = {}

    async def one(i: int) -> None:
        ch = targets[i]
        eid = await bus.publish(ch, "n", {"i": i})
        ms, seq = eid.split("-")
        sent.setdefault(ch, []).append(((int(ms), int(seq)), eid))

    for i in range(0, n, 16):
        await asyncio.gather(*(one(j) for j in range(i, min(n, i + 16))))
    return {ch: [eid for _, eid in sorted(ids)] for ch, ids in sent.items()}


async def _drain(subs: dict[str, Subscription], expected: dict[str, list[str]]) -> None:
    """Every subscriber gets exactly its channel's events, in order, and nothing else."""
    got: dict[str, list[str]] = {}
    want = sum(map(len, expected.values()))
    async with asyncio.timeout(30):
        while sum(map(len, got.values())) < want:
            for ch in expected:
                batch = subs[ch].poll(1000)
                if batch:
                    got.setdefault(ch, []).extend(ev.id for ev in batch)
            await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)  # anything extra (a duplicate) would arrive meanwhile
    for ch, sub in subs.items():
        extra = sub.poll(1000)
        if extra:
            got.setdefault(ch, []).extend(ev.id for ev in extra)
    assert {ch: ids for ch, ids in got.items() if ids} == expected


@pytest.mark.timeout(300)
async def test_ten_thousand_channels_cost_per_event_does_not_grow(
    bus: EventBus, hub: EventHub, redis: aioredis.Redis
) -> None:
    rng = random.Random(17)
    per_event: dict[int, float] = {}
    for n_channels in (100, 10_000):
        channels = [f"scale:{n_channels}:{i}" for i in range(n_channels)]
        subs = await _subscribe_all(hub, channels)
        assert hub.stats.hub_channels == n_channels
        before = await _commands(redis)
        expected = await _publish_random(bus, channels, 2000, rng)
        after = await _commands(redis)
        await _drain(subs, expected)
        # +1: the INFO call itself. The publisher's script (EVALSHA and its four inner
        # commands) is the whole cost: the hub issues no command per event.
        per_event[n_channels] = (after - before - 1) / 2000
        for sub in subs.values():
            sub.close()
        assert hub.stats.hub_channels == 0
    # EVALSHA + XREVRANGE + XADD + EXPIRE + SPUBLISH; an idle-link PING may slip in.
    assert 5.0 <= per_event[100] <= 5.01 and 5.0 <= per_event[10_000] <= 5.01, per_event


async def _collect_until(
    hub: EventHub, channel: str, start: str, last: asyncio.Future[str]
) -> list[str]:
    """Follow ``channel`` from ``start`` until the id ``last`` resolves to arrives,
    resuming after a slow-consumer drop as a client would (from its last id)."""
    got: list[str] = []
    sub = await hub.subscribe(channel, start)
    try:
        while True:
            try:
                batch = await sub.next_batch()
            except SlowConsumer as exc:
                sub = await hub.subscribe(channel, exc.last_id or start)
                continue
            got.extend(ev.id for ev in batch)
            if last.done() and got and got[-1] == last.result():
                return got
    finally:
        sub.close()


async def _resume_scenario(
    redis_url: str, before: int, during: int, publishers: int, resume_at: int, queue: int
) -> None:
    redis = _client(redis_url)
    reader = _client(redis_url)
    bus = EventBus(redis, 1000, 3600, stats=EventStats())
    hub = EventHub(reader, bus, queue, block_ms=200)
    await hub.start()
    channel = f"resume:{random.randrange(1 << 60)}"
    try:
        ids = [await bus.publish(channel, "n", {"i": i}) for i in range(before)]
        start = ids[resume_at] if resume_at < before else ids[-1]
        last: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        async def publisher(k: int) -> list[str]:
            return [await bus.publish(channel, "n", {"p": k, "i": i}) for i in range(during)]

        async def publish_all() -> None:
            # Publishers race the subscription: its live-first, history, then drain.
            await asyncio.gather(*(publisher(k) for k in range(publishers)))
            last.set_result(await bus.publish(channel, "n", "last"))

        pub = asyncio.create_task(publish_all())
        async with asyncio.timeout(30):
            got = await _collect_until(hub, channel, start, last)
            await pub
        rows = await redis.xrange(stream_key(channel), min="(" + start)
        assert got == [eid.decode() for eid, _ in rows]  # no gap, no duplicate, in order
        # Then live: a new event arrives on a fresh live subscription too.
        sub = await hub.subscribe(channel, got[-1])
        live = await bus.publish(channel, "n", "live")
        async with asyncio.timeout(5):
            assert [ev.id for ev in await sub.next_batch()] == [live]
        sub.close()
    finally:
        await redis.delete(stream_key(channel))
        await hub.stop()
        await reader.aclose()
        await redis.aclose()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    before=st.integers(1, 40),
    during=st.integers(0, 120),
    publishers=st.integers(1, 4),
    resume_at=st.integers(0, 40),
    queue=st.sampled_from([8, 16, 64, 256]),
)
@pytest.mark.timeout(600)
def test_resume_while_publishing_no_gap_no_duplicate_then_live(
    redis_url: str, before: int, during: int, publishers: int, resume_at: int, queue: int
) -> None:
    asyncio.run(_resume_scenario(redis_url, before, during, publishers, resume_at, queue))


HUB_PROCESS = """
import asyncio, json, sys
import redis.asyncio as aioredis
from services.events import EventBus, EventHub, EventStats

async def main(url: str, channel: str) -> None:
    bus = EventBus(aioredis.Redis.from_url(url), 1000, 3600, stats=EventStats())
    reader = aioredis.Redis.from_url(url)
    hub = EventHub(reader, bus, 1024, block_ms=200)
    await hub.start()
    sub = await hub.subscribe(channel)
    got = []
    print("READY", flush=True)
    loop = asyncio.get_running_loop()
    stop = loop.run_in_executor(None, sys.stdin.readline)
    while not stop.done():
        got.extend(ev.id for ev in (sub.poll(1000) or []))
        await asyncio.sleep(0.01)
    got.extend(ev.id for ev in (sub.poll(1000) or []))
    print(json.dumps({"got": got, "stats": hub.stats.snapshot()}), flush=True)
    await hub.stop()

asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


async def _hub_process(redis_url: str, channel: str) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        HUB_PROCESS,
        redis_url,
        channel,
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    async with asyncio.timeout(30):
        assert (await proc.stdout.readline()).strip() == b"READY"
    return proc


async def _finish(proc: asyncio.subprocess.Process) -> dict[str, Any]:
    async with asyncio.timeout(30):
        out, _ = await proc.communicate(b"STOP\n")
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


async def test_a_process_without_subscribers_of_a_channel_does_no_work_for_it(
    bus: EventBus, redis: aioredis.Redis, redis_url: str
) -> None:
    a = await _hub_process(redis_url, "two:a-only")
    b = await _hub_process(redis_url, "two:b-only")
    try:
        ids = [await bus.publish("two:b-only", "n", {"i": i}) for i in range(300)]
        shard = await redis.execute_command("PUBSUB", "SHARDNUMSUB", stream_key("two:b-only"))
        assert shard[1] == 1  # process B's live connection only
    finally:
        got_b = await _finish(b)
        got_a = await _finish(a)
    assert got_b["got"] == ids
    assert got_a["got"] == []
    # Process A read nothing off its live connection and delivered nothing.
    assert got_a["stats"]["hub_reads"] == 0 and got_a["stats"]["delivered"] == 0
    assert got_b["stats"]["hub_reads"] >= 1
