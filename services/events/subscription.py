"""Subscription: one subscriber's bounded queue, replay-then-live iteration, no gap, no dup."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Protocol

from services.events.bus import Event, EventBus, format_id
from services.events.stats import EventStats

COALESCING_EVENTS = frozenset({"progress", "metrics"})


class SlowConsumer(Exception):
    """The subscriber fell too far behind; resume from ``last_id``."""

    def __init__(self, channel: str, last_id: str | None) -> None:
        super().__init__(f"slow consumer on {channel}; resume after {last_id}")
        self.channel = channel
        self.last_id = last_id


class Registry(Protocol):
    """Who holds subscriptions (the hub): told when one ends. A Protocol, so this module
    needs no import of the hub (which imports it)."""

    def detach(self, sub: Subscription) -> None: ...


class Subscription:
    """Events of one channel for one subscriber: the replay from the stream, then live ones.

    Live events arrive through ``offer`` (called by the hub, never blocks). The iterator
    skips any event at or before the last one delivered, so the overlap between replay and
    live is delivered once.
    """

    # Thousands of these live at once (one per stream): slots, and the deques (760 bytes
    # each when empty) only exist while in use — most subscribers are written directly.
    __slots__ = (
        "_bus",
        "_closed",
        "_hub",
        "_max",
        "_pending",
        "_pos",
        "_queue",
        "_replay",
        "_replay_last",
        "_replaying",
        "_slow",
        "_stats",
        "_waiter",
        "channel",
        "direct",
        "direct_batch",
        "on_slow",
        "reset_oldest_id",
    )

    def __init__(
        self,
        hub: Registry,
        bus: EventBus,
        channel: str,
        *,
        start: tuple[int, int],
        queue_size: int,
        stats: EventStats,
        reset_oldest_id: str | None = None,
        replay: bool = True,
    ) -> None:
        self.channel = channel
        self.reset_oldest_id = reset_oldest_id
        self._hub = hub
        self._bus = bus
        self._pos = start
        self._queue: deque[Event] | None = None
        self._max = queue_size
        self._stats = stats
        self._replaying = replay
        self._replay: deque[Event] | None = None
        self._replay_last = False
        self._waiter: asyncio.Future[None] | None = None
        self._closed = False
        self._slow = False
        self._pending: deque[Event] | None = None
        self.on_slow: Callable[[], None] | None = None
        # Optional synchronous writers for caught-up subscribers (return False to decline):
        # one event, and several at once (one write for a batch the hub read together).
        self.direct: Callable[[Event], bool] | None = None
        self.direct_batch: Callable[[list[Event]], bool] | None = None

    @property
    def last_id(self) -> str | None:
        """The id of the last event handed out (or the start position)."""
        return format_id(self._pos) if self._pos != (0, 0) else None

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def replaying(self) -> bool:
        """Still reading the replay from the stream (``poll`` cannot serve it)."""
        return self._replaying

    @property
    def dropped(self) -> bool:
        """Dropped for falling behind (resume from ``last_id``)."""
        return self._slow

    @property
    def queued(self) -> int:
        return len(self._queue) if self._queue else 0

    def _ready_for_direct(self, first: Event) -> bool:
        """Caught up (nothing queued, not replaying), its reader idle, ``first`` is new."""
        waiter = self._waiter
        return (
            not self._queue
            and not self._replaying
            and waiter is not None
            and not waiter.done()
            and first.pos > self._pos
        )

    def offer_batch(self, events: list[Event]) -> int:
        """Hand over several live events read together (hub side), in order: written in
        one go through ``direct_batch`` when caught up, else offered one by one.

        Returns how many were written directly (the hub counts them as delivered).
        """
        if self._closed or self._slow:
            return 0
        direct_batch = self.direct_batch
        if direct_batch is not None and self._ready_for_direct(events[0]) and direct_batch(events):
            self._pos = events[-1].pos
            return len(events)
        return sum([self.offer(ev) for ev in events])

    def offer(self, event: Event) -> bool:
        """Hand a live event over (hub side): written at once through ``direct`` when the
        subscriber is caught up and idle, else queued. Coalesces progress-like events when
        behind; a subscriber still too slow is dropped (SlowConsumer).

        Returns True when written directly: the caller counts it as delivered (once per
        fan-out slice, not per subscriber; see EventHub._dispatch).
        """
        if self._closed or self._slow:
            return False
        direct = self.direct
        # _ready_for_direct, inlined: this runs once per subscriber per event.
        if direct is not None and not self._queue and not self._replaying:
            waiter = self._waiter
            if waiter is not None and not waiter.done() and event.pos > self._pos and direct(event):
                self._pos = event.pos
                return True
        queue = self._queue
        if queue is None:
            queue = self._queue = deque()
        if len(queue) >= self._max // 2 and event.event in COALESCING_EVENTS:
            for old in queue:
                if old.event == event.event:
                    queue.remove(old)
                    self._stats.coalesced += 1
                    self._stats.notify()
                    break
        if len(queue) >= self._max:
            if self._replaying:
                # Still catching up from the stream: the replay will read these anyway.
                queue.clear()
            else:
                self._mark_slow()
                return False
        queue.append(event)
        if len(queue) > self._stats.queue_peak:
            self._stats.queue_peak = len(queue)
        self._wake()
        return False

    def start_at(self, pos: tuple[int, int]) -> None:
        """Move the start forward to ``pos`` (the channel's tail, read once the hub was
        live): events at or before it that were queued meanwhile are skipped."""
        if pos > self._pos:
            self._pos = pos

    def interrupt(self) -> None:
        """End the subscription with a resumable position, as for a slow consumer (the
        hub could not tell what it missed; resuming from ``last_id`` will tell)."""
        if not (self._closed or self._slow):
            self._mark_slow(count=False)

    def _mark_slow(self, *, count: bool = True) -> None:
        self._slow = True
        self._queue = None
        if count:
            self._stats.dropped += 1
        self._hub.detach(self)
        self._stats.notify()
        self._wake()
        if self.on_slow is not None:
            self.on_slow()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def close(self) -> None:
        """Stop the subscription (idempotent); a pending iteration ends."""
        if self._closed:
            return
        self._closed = True
        self._queue = None
        self._hub.detach(self)
        self._wake()

    def poll(self, limit: int = 64) -> list[Event] | None:
        """Live events queued now, without waiting: a list (maybe empty), or None when
        only ``next_batch`` can tell (still replaying from the stream, closed, dropped).

        With ``wait_future`` a writer waits without a coroutine frame of its own (it
        matters with thousands of idle streams).
        """
        if self._closed or self._slow or self._replaying:
            return None
        queue = self._queue
        if not queue:
            return []
        out: list[Event] = []
        while queue and len(out) < limit:
            ev = queue.popleft()
            if ev.pos > self._pos:
                self._pos = ev.pos
                out.append(ev)
        if not queue:
            self._queue = None
        self._stats.delivered += len(out)
        return out

    def wait_future(self) -> asyncio.Future[None]:
        """A future resolved once there is news (an event queued, close, drop). While it
        is pending the subscriber counts as idle: the hub may write to it directly."""
        waiter = self._waiter
        if waiter is None or waiter.done():
            waiter = self._waiter = asyncio.get_running_loop().create_future()
        if self._queue or self._closed or self._slow:
            waiter.set_result(None)
        return waiter

    async def next_batch(self, limit: int = 64) -> list[Event]:
        """Up to ``limit`` events, waiting for at least one; [] once closed.

        Raises SlowConsumer when the subscriber was dropped for falling behind.
        """
        while True:
            if self._closed:
                return []
            if self._slow:
                raise SlowConsumer(self.channel, self.last_id)
            if self._replaying:
                batch = await self._replay_batch(limit)
                if batch:
                    return batch
                continue
            out: list[Event] = []
            queue = self._queue
            while queue and len(out) < limit:
                ev = queue.popleft()
                if ev.pos > self._pos:
                    self._pos = ev.pos
                    out.append(ev)
            if queue is not None and not queue:
                self._queue = None  # drained: give the memory back
            if out:
                self._stats.delivered += len(out)
                return out
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    async def _replay_batch(self, limit: int) -> list[Event]:
        replay = self._replay
        if not replay:
            count = max(limit, 200)
            fetched = await self._bus.read_range(self.channel, self._pos, count=count)
            # A short read reached the end of the stream: later events come live.
            self._replay_last = len(fetched) < count
            if not fetched:
                self._replaying = False
                self._replay = None
                return []
            replay = self._replay = deque(fetched)
        out: list[Event] = []
        while replay and len(out) < limit:
            ev = replay.popleft()
            if ev.pos > self._pos:
                self._pos = ev.pos
                out.append(ev)
        if not replay and self._replay_last:
            self._replaying = False
            self._replay = None
        self._stats.replayed += len(out)
        self._stats.delivered += len(out)
        return out

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        """One event at a time (convenient; writers prefer next_batch)."""
        while True:
            if self._pending:
                return self._pending.popleft()
            batch = await self.next_batch()
            if not batch:
                raise StopAsyncIteration
            self._pending = deque(batch)
