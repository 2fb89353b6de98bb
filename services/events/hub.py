"""EventHub: one per process; one Redis connection reads every channel with local
subscribers (blocking XREAD) and fans events out to their bounded queues.

It also listens on the ``fluentpro:revoked`` pub/sub channel and calls the closers that
connections registered for the revoked session.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from services.events.bus import ZERO, Event, EventBus, before, format_id, parse_id, stream_key
from services.events.stats import EventStats
from services.events.subscription import SlowConsumer, Subscription

log = logging.getLogger(__name__)

REVOKED_CHANNEL = "fluentpro:revoked"
# Subscribers served per loop iteration during a fan-out (a few milliseconds of writes).
FANOUT_SLICE = 500
Closer = Callable[[], None]

__all__ = ["REVOKED_CHANNEL", "EventHub", "SlowConsumer", "Subscription"]


class EventHub:
    """Fans events of the Redis Streams out to local subscribers over one connection."""

    def __init__(
        self,
        redis_for_blocking_reads: aioredis.Redis,
        bus: EventBus,
        queue_size: int,
        *,
        block_ms: int = 1000,
        batch: int = 500,
    ) -> None:
        self._redis = redis_for_blocking_reads
        self._bus = bus
        self._queue_size = queue_size
        self._block_ms = block_ms
        self._batch = batch
        self.stats: EventStats = bus.stats
        self._subs: dict[str, set[Subscription]] = {}
        self._cursors: dict[str, tuple[int, int]] = {}  # stream key → last read position
        self._wake_key = f"fp:hub:{uuid.uuid4().hex}:wake"
        self._wake_pos = "0-0"
        self._wake_pending = False
        self._changed = asyncio.Event()
        self._reading = False
        self._stopping = False
        self._closers: dict[str, set[Closer]] = {}
        self._tasks: list[asyncio.Task[None]] = []

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        """Start the reader and the revocation listener (owned; stopped by ``stop``)."""
        self._tasks = [
            asyncio.create_task(self._read_loop(), name="event-hub-reader"),
            asyncio.create_task(self._revocation_loop(), name="event-hub-revocations"),
        ]

    async def stop(self) -> None:
        """Cancel and await the background tasks; close every subscription."""
        for subs in list(self._subs.values()):
            for sub in list(subs):
                sub.close()
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=5)
            for task in pending:  # pragma: no cover - a library swallowed the cancel
                log.error("event hub task %s did not stop: %r", task.get_name(), task.get_stack())
        self._tasks = []

    # -- subscriptions ---------------------------------------------------------------

    async def subscribe(self, channel: str, last_event_id: str | None = None) -> Subscription:
        """Subscribe to a channel: events after ``last_event_id`` (replay), then live ones.

        Without ``last_event_id`` only events published from now on are delivered. When the
        position fell out of retention, ``Subscription.reset_oldest_id`` says so and the
        replay starts at the oldest retained event. Raises InvalidEventId for a malformed id.
        """
        reset: str | None = None
        key = stream_key(channel)
        if not last_event_id and key in self._cursors:
            # Live only, on a channel this hub already reads: everything after the hub's
            # cursor is still to be dispatched, so no Redis call and no replay are needed.
            sub = Subscription(
                self,
                self._bus,
                channel,
                start=self._cursors[key],
                queue_size=self._queue_size,
                stats=self.stats,
                replay=False,
            )
            self._subs.setdefault(channel, set()).add(sub)
            self.stats.hub_subscribers += 1
            self._count()
            return sub
        if last_event_id:
            start = parse_id(last_event_id)
            reset = await self._bus.check_retention(channel, last_event_id)
            if reset is not None:
                start = before(parse_id(reset))
            known = stream_key(channel) in self._cursors
            tail = ZERO if known else await self._bus.last_id(channel)
        else:
            tail = start = await self._bus.last_id(channel)
        sub = Subscription(
            self,
            self._bus,
            channel,
            start=start,
            queue_size=self._queue_size,
            stats=self.stats,
            reset_oldest_id=reset,
        )
        self._subs.setdefault(channel, set()).add(sub)
        self.stats.hub_subscribers += 1
        if key not in self._cursors:
            # Everything after ``tail`` reaches the hub; the replay covers up to the end.
            self._cursors[key] = tail
            self._count()
            await self._wake()
        else:
            self._count()
        return sub

    def detach(self, sub: Subscription) -> None:
        """Forget a subscription (called by Subscription.close and on slow consumers)."""
        subs = self._subs.get(sub.channel)
        if subs is None or sub not in subs:
            return
        subs.discard(sub)
        self.stats.hub_subscribers -= 1
        if not subs:
            del self._subs[sub.channel]
            self._cursors.pop(stream_key(sub.channel), None)
        self._count()

    def _count(self) -> None:
        self.stats.hub_channels = len(self._subs)

    def subscriber_count(self, channel: str) -> int:
        """How many local subscribers a channel has."""
        return len(self._subs.get(channel, ()))

    async def _wake(self) -> None:
        """Make the reader re-evaluate its channel set now (interrupting a blocking read)."""
        self._changed.set()
        if self._reading and not self._wake_pending:
            self._wake_pending = True
            try:
                await self._bus.touch(self._wake_key)
            except (RedisError, OSError, TimeoutError):
                # The reader still picks the channel up after at most one block period.
                log.warning("could not wake the event hub reader")

    async def _read_loop(self) -> None:
        backoff = 0.05
        while not self._stopping:
            if not self._cursors:
                self._changed.clear()
                await self._changed.wait()
                continue
            self._changed.clear()
            self._wake_pending = False
            self._reading = True
            streams: dict[Any, Any] = {self._wake_key: self._wake_pos}
            streams.update({key: format_id(pos) for key, pos in self._cursors.items()})
            try:
                async with asyncio.timeout(self._block_ms / 1000 + 5):
                    reply: Any = await self._redis.xread(
                        streams, count=self._batch, block=self._block_ms
                    )
                backoff = 0.05
            except (RedisError, OSError, TimeoutError) as exc:
                self._reading = False
                log.warning("event hub read failed (%s); retrying", exc.__class__.__name__)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
                continue
            self._reading = False
            self.stats.hub_reads += 1
            await self._dispatch(list(reply or []))  # RESP2: [[key, entries], ...]

    async def _dispatch(self, reply: list[Any]) -> None:
        for raw_key, entries in reply:
            key = raw_key.decode() if isinstance(raw_key, bytes) else raw_key
            if key == self._wake_key:
                if entries:
                    last = entries[-1][0]
                    self._wake_pos = last.decode() if isinstance(last, bytes) else last
                continue
            if key not in self._cursors or not entries:
                continue
            channel = key[len("fp:ev:") :]
            events = [Event.from_entry(channel, eid, fields) for eid, fields in entries]
            self._cursors[key] = events[-1].pos
            subs = list(self._subs.get(channel, ()))  # a copy: offer may detach
            # In slices, yielding to the loop in between: one event to thousands of
            # subscribers must not hold the loop for tens of milliseconds. The reader reads
            # on only after the whole fan-out, so every subscriber sees events in order; a
            # subscriber that joins meanwhile starts after them (its start is the cursor).
            stats = self.stats
            for start in range(0, len(subs), FANOUT_SLICE):
                if start:
                    await asyncio.sleep(0)
                part = subs[start : start + FANOUT_SLICE]
                if len(events) == 1:
                    ev = events[0]
                    direct = sum([sub.offer(ev) for sub in part])
                else:
                    # Fell behind (or a burst): each caught-up subscriber gets the whole
                    # batch in one write, so a slow fan-out catches up instead of compounding.
                    direct = sum([sub.offer_batch(events) for sub in part])
                stats.delivered += direct
                stats.direct += direct

    # -- revocation ------------------------------------------------------------------

    def on_revoked(self, session_id: str, closer: Closer) -> Callable[[], None]:
        """Call ``closer`` when ``session_id`` is revoked (any process). Returns an undo."""
        self._closers.setdefault(session_id, set()).add(closer)
        # A partial, not a closure: one small object per connection (thousands are open).
        return partial(self._off_revoked, session_id, closer)

    def _off_revoked(self, session_id: str, closer: Closer) -> None:
        closers = self._closers.get(session_id)
        if closers is not None:
            closers.discard(closer)
            if not closers:
                del self._closers[session_id]

    def revoke_local(self, session_id: str) -> int:
        """Run the closers registered for a session; returns how many ran."""
        closers = list(self._closers.pop(session_id, ()))
        for closer in closers:
            try:
                closer()
            except Exception:
                log.exception("closer for a revoked session failed")
        if closers:
            self.stats.revocations += 1
            self.stats.notify()
        return len(closers)

    async def _revocation_loop(self) -> None:
        backoff = 0.1
        while not self._stopping:
            pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                async with asyncio.timeout(5):
                    await pubsub.subscribe(REVOKED_CHANNEL)
                backoff = 0.1
                while not self._stopping:
                    msg = await pubsub.get_message(timeout=self._block_ms / 1000)
                    if msg is None or msg.get("type") != "message":
                        continue
                    self._handle_revocation(msg.get("data"))
            except (RedisError, OSError, TimeoutError) as exc:
                log.warning("revocation listener failed (%s); retrying", exc.__class__.__name__)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
            finally:
                with contextlib.suppress(RedisError, OSError, TimeoutError):
                    async with asyncio.timeout(1):
                        await pubsub.aclose()

    def _handle_revocation(self, data: Any) -> None:
        try:
            body = orjson.loads(data)
            session_id = str(body["session_id"])
        except (ValueError, TypeError, KeyError):
            log.warning("ignored a malformed revocation message")
            return
        self.revoke_local(session_id)
