"""EventHub: one per process. Its LiveLink (one Redis connection) receives the live events
of the channels that have local subscribers, and the hub fans them out to their bounded
queues. History (the streams) is read only to resume a subscriber and to fill the gap
after the live connection dropped.

It also runs the closers that connections registered for a revoked session.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from services.events.bus import ZERO, Event, EventBus, before, parse_id, stream_key
from services.events.live import LINK_ERRORS
from services.events.revocation import REVOKED_CHANNEL, Closer, Revocations
from services.events.sharded_link import make_live_link
from services.events.stats import EventStats
from services.events.subscription import SlowConsumer, Subscription
from services.events.wire import KEY_PREFIX, split_live
from services.redis_clients import RedisClient

log = logging.getLogger(__name__)

# Subscribers served per loop iteration during a fan-out (a few milliseconds of writes).
FANOUT_SLICE = 500
# Channels whose gap is filled at once after a reconnect (each is one XRANGE).
FILL_CONCURRENCY = 64

__all__ = ["FANOUT_SLICE", "REVOKED_CHANNEL", "EventHub", "SlowConsumer", "Subscription"]


def _pos(eid: bytes) -> tuple[int, int]:
    ms, _, seq = eid.partition(b"-")
    return int(ms), int(seq or 0)


class EventHub:
    """Fans the live events of one Redis connection out to local subscribers."""

    def __init__(
        self,
        redis_for_live_reads: RedisClient,
        bus: EventBus,
        queue_size: int,
        *,
        block_ms: int = 1000,
        batch: int = 500,
    ) -> None:
        self._bus = bus
        self._queue_size = queue_size
        self._batch = batch
        self.stats: EventStats = bus.stats
        self._subs: dict[str, set[Subscription]] = {}
        # Stream key → the position of the last event fanned out (or where live began).
        self._cursors: dict[str, tuple[int, int]] = {}
        self._epochs: dict[str, bytes] = {}  # channel → epoch of its last live event
        # Channels being resynchronised after a reconnect → live events held meanwhile.
        self._filling: dict[str, list[Event]] = {}
        self._overflowed: set[str] = set()
        self._to_fill: set[str] = set()
        self._fill_wake = asyncio.Event()
        self._revocations = Revocations(self.stats)
        self._link = make_live_link(
            redis_for_live_reads,
            broadcast=REVOKED_CHANNEL,
            on_messages=self._on_live,
            on_broadcast=self._revocations.handle_message,
            on_resubscribe=self._on_resubscribe,
            poll_s=block_ms / 1000,
        )
        self._stopping = False
        self._filler: asyncio.Task[None] | None = None

    # -- lifecycle -------------------------------------------------------------------

    async def start(self) -> None:
        """Start the live link and the gap filler (owned; stopped by ``stop``)."""
        self._link.start()
        self._filler = asyncio.create_task(self._fill_loop(), name="event-hub-filler")

    async def stop(self) -> None:
        """Close every subscription, then stop the background tasks."""
        for subs in list(self._subs.values()):
            for sub in list(subs):
                sub.close()
        self._stopping = True
        if self._filler is not None:
            self._filler.cancel()
            await asyncio.wait([self._filler], timeout=5)
            self._filler = None
        await self._link.stop()

    @property
    def link_connects(self) -> int:
        """How many times the live connection was (re)opened."""
        return self._link.connects

    # -- subscriptions ---------------------------------------------------------------

    async def subscribe(self, channel: str, last_event_id: str | None = None) -> Subscription:
        """Subscribe to a channel: events after ``last_event_id`` (replay), then live ones.

        Without ``last_event_id`` only events published from now on are delivered. When
        the position cannot be resumed (out of retention, or unknown to the stream) the
        subscription carries ``reset_oldest_id`` and replays from the oldest retained
        event. Raises InvalidEventId for a malformed id, TimeoutError / RedisError when
        Redis cannot be reached.
        """
        key = stream_key(channel)
        if last_event_id:
            start = parse_id(last_event_id)  # InvalidEventId before any I/O
            reset = await self._bus.check_retention(channel, last_event_id)
            if reset is not None:
                start = before(parse_id(reset))
            # Live first (queued while replaying), then the replay reads the history: an
            # event is in the replay, or arrives live after the subscription existed.
            sub = self._add(channel, start, replay=True, reset=reset)
            await self._go_live(sub)
            return sub
        cursor = self._cursors.get(key)
        if (
            cursor is not None
            and cursor != ZERO
            and channel not in self._filling
            and self._link.is_live(channel)
        ):
            # Live only, on a channel this hub already receives: everything after the
            # hub's cursor is still to be fanned out, so no Redis call is needed.
            return self._add(channel, cursor, replay=False)
        sub = self._add(channel, ZERO, replay=False)
        await self._go_live(sub)
        try:
            tail = await self._bus.last_id(channel)
        except BaseException:
            sub.close()
            raise
        sub.start_at(tail)
        if tail > self._cursors.get(key, ZERO) and channel in self._subs:
            self._cursors[key] = tail
        return sub

    def _add(
        self, channel: str, start: tuple[int, int], *, replay: bool, reset: str | None = None
    ) -> Subscription:
        sub = Subscription(
            self,
            self._bus,
            channel,
            start=start,
            queue_size=self._queue_size,
            stats=self.stats,
            reset_oldest_id=reset,
            replay=replay,
        )
        subs = self._subs.get(channel)
        if subs is None:
            subs = self._subs[channel] = set()
            self._cursors.setdefault(stream_key(channel), ZERO)
        subs.add(sub)
        self.stats.hub_subscribers += 1
        self._count()
        return sub

    async def _go_live(self, sub: Subscription) -> None:
        try:
            await self._link.subscribe(sub.channel)
        except BaseException:
            sub.close()
            raise

    def detach(self, sub: Subscription) -> None:
        """Forget a subscription (called by Subscription.close and on slow consumers);
        after the channel's last one, its live messages stop."""
        subs = self._subs.get(sub.channel)
        if subs is None or sub not in subs:
            return
        subs.discard(sub)
        self.stats.hub_subscribers -= 1
        if not subs:
            channel = sub.channel
            del self._subs[channel]
            self._cursors.pop(stream_key(channel), None)
            self._epochs.pop(channel, None)
            self._filling.pop(channel, None)
            self._overflowed.discard(channel)
            self._link.unsubscribe(channel)
        self._count()

    def _count(self) -> None:
        self.stats.hub_channels = len(self._subs)

    def subscriber_count(self, channel: str) -> int:
        """How many local subscribers a channel has."""
        return len(self._subs.get(channel, ()))

    # -- the live path ---------------------------------------------------------------

    async def _on_live(self, messages: list[tuple[str, bytes]]) -> None:
        """Messages read together: grouped per channel (order kept), then fanned out."""
        self.stats.hub_reads += 1
        grouped: dict[str, list[Event]] = {}
        for channel, payload in messages:
            if channel not in self._subs:
                continue  # unsubscribed meanwhile
            try:
                eid, epoch, name, data = split_live(payload)
                ev = Event(id=eid.decode(), channel=channel, event=name.decode(), raw=data)
                ev.pos = _pos(eid)
            except ValueError:
                log.warning("ignored a malformed live message on %s", channel)
                continue
            self._epochs[channel] = epoch
            held = self._filling.get(channel)
            if held is not None:
                if len(held) >= self._batch * 4:
                    held.clear()  # the history has them: the filler reads once more
                    self._overflowed.add(channel)
                held.append(ev)
                continue
            group = grouped.get(channel)
            if group is None:
                grouped[channel] = [ev]
            else:
                group.append(ev)
        for channel, events in grouped.items():
            await self._fan_out(channel, events)

    async def _dispatch(self, reply: list[Any]) -> None:
        """Fan out stream entries, ``[[stream key, [(id, fields), ...]], ...]``."""
        for raw_key, entries in reply:
            key = raw_key.decode() if isinstance(raw_key, bytes) else raw_key
            if not entries:
                continue
            channel = key[len(KEY_PREFIX) :]
            await self._fan_out(
                channel, [Event.from_entry(channel, eid, fields) for eid, fields in entries]
            )

    async def _fan_out(self, channel: str, events: list[Event]) -> None:
        key = stream_key(channel)
        cursor = self._cursors.get(key)
        if cursor is None:
            return
        if events[0].pos <= cursor:  # seen already (history and live overlap)
            events = [ev for ev in events if ev.pos > cursor]
            if not events:
                return
        self._cursors[key] = events[-1].pos
        subs = list(self._subs.get(channel, ()))  # a copy: offer may detach
        # In slices, yielding to the loop in between: one event to thousands of
        # subscribers must not hold the loop for tens of milliseconds. The next events
        # are fanned out only after this one, so every subscriber sees them in order; a
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
                # A burst: each caught-up subscriber gets the whole batch in one write.
                direct = sum([sub.offer_batch(events) for sub in part])
            stats.delivered += direct
            stats.direct += direct

    # -- after a reconnect: fill the gap from history --------------------------------

    def _on_resubscribe(self, channels: list[str]) -> None:
        """The live link reconnected and is about to subscribe ``channels`` again: hold
        their live events until the history since each cursor has been fanned out."""
        for channel in channels:
            if channel in self._subs:
                self._filling.setdefault(channel, [])
                self._to_fill.add(channel)
        self.stats.hub_resyncs += 1
        self.stats.notify()
        self._fill_wake.set()

    async def _fill_loop(self) -> None:
        while not self._stopping:
            await self._fill_wake.wait()
            self._fill_wake.clear()
            while self._to_fill:
                chunk = [
                    self._to_fill.pop() for _ in range(min(FILL_CONCURRENCY, len(self._to_fill)))
                ]
                results = await asyncio.gather(
                    *(self._fill(ch) for ch in chunk), return_exceptions=True
                )
                failed = []
                for ch, result in zip(chunk, results, strict=True):
                    if isinstance(result, LINK_ERRORS):
                        failed.append(ch)
                    elif isinstance(result, Exception):
                        # Not Redis being away: a bug. Retrying would repeat it; the
                        # subscribers resume from their positions instead.
                        log.error("gap fill of %s failed", ch, exc_info=result)
                        self._lose(ch)
                if failed:
                    self._to_fill.update(ch for ch in failed if ch in self._subs)
                    await asyncio.sleep(0.2)  # Redis is still away: try again shortly

    async def _fill(self, channel: str) -> None:
        """Fan out what ``channel`` missed, then what arrived live meanwhile, in order.
        Returns None when done (or moot); a Redis error means "retry"."""
        try:
            while channel in self._subs:
                await self._link.subscribe(channel)  # confirmed: nothing more is missed
                key = stream_key(channel)
                got = await self._bus.resync(
                    channel,
                    self._cursors.get(key, ZERO),
                    self._epochs.get(channel),
                    count=self._batch,  # half a subscriber queue: a burst never drops one
                )
                if channel not in self._subs:
                    break
                if not got.known:
                    self._lose(channel)
                    break
                if got.events:
                    await self._fan_out(channel, got.events)
                if len(got.events) >= self._batch or channel in self._overflowed:
                    self._overflowed.discard(channel)
                    continue
                while (held := self._filling.get(channel)) is not None:
                    if not held:
                        del self._filling[channel]
                        break
                    self._filling[channel] = []
                    await self._fan_out(channel, held)
                break
        except LINK_ERRORS as exc:
            log.warning("could not fill the gap of %s (%s)", channel, exc.__class__.__name__)
            raise
        return None

    def _lose(self, channel: str) -> None:
        """The stream no longer knows where this hub was (trimmed past, or lost and
        re-created): end the subscriptions with their resumable positions; resuming from
        them gets a ``reset`` instead of a silent gap."""
        log.warning("history of %s lost across the reconnect; subscribers must resume", channel)
        self.stats.hub_resets += 1
        self.stats.notify()
        for sub in list(self._subs.get(channel, ())):
            sub.interrupt()
        self._filling.pop(channel, None)

    # -- revocation ------------------------------------------------------------------

    def on_revoked(self, session_id: str, closer: Closer) -> Callable[[], None]:
        """Call ``closer`` when ``session_id`` is revoked (any process). Returns an undo."""
        return self._revocations.on_revoked(session_id, closer)

    def revoke_local(self, session_id: str) -> int:
        """Run the closers registered for a session; returns how many ran."""
        return self._revocations.revoke_local(session_id)
