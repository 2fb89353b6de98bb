"""Long-lived connections end with their session (security review 2026-12-07, finding 9).

A WebSocket or SSE stream is authenticated once, at the start. Revocation already closes it
(the hub's revocation notice); this closes it when the session's expiry — the earlier of the
absolute lifetime and the idle timeout as of authentication — passes, so an open socket
cannot outlive its session. The client reconnects; if the session is still alive (it was
used meanwhile) the new connection is authenticated again, with a new deadline.

One ``SessionDeadlines`` per process holds every open connection's deadline, grouped by
whole second, behind a single timer: a timer handle and a closure per connection cost
~0.7 KB each, which thousands of idle SSE streams feel (issue #17's memory goal). A
connection is held by a weak reference (the one the SSE pinger already made, when there
is one), so a closed connection needs no undo; it ends within a second of its expiry.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import math
import time
import weakref
from typing import Protocol

log = logging.getLogger(__name__)

# Drop dead entries once the watched count has doubled since the last sweep (amortised
# O(1) per watch), so short sessions reconnecting in a loop cannot grow the buckets.
_FIRST_SWEEP_AT = 1024


class Expirable(Protocol):
    """A connection that can be ended because its session expired (idempotent)."""

    def session_expired(self) -> None: ...


class SessionDeadlines:
    """Calls ``session_expired()`` on each watched connection once its session expires."""

    def __init__(self) -> None:
        self._buckets: dict[int, list[weakref.ref[Expirable]]] = {}  # whole second → conns
        self._seconds: list[int] = []  # heap of the buckets' seconds
        self._timer: asyncio.TimerHandle | None = None
        self._timer_second: int | None = None
        self._entries = 0
        self._sweep_at = _FIRST_SWEEP_AT

    def watch(self, expires_at: float | None, conn: Expirable) -> None:
        """End ``conn`` at ``expires_at`` (wall clock, seconds); None: never."""
        if expires_at is None:
            return
        second = math.ceil(expires_at)
        bucket = self._buckets.get(second)
        if bucket is None:
            bucket = self._buckets[second] = []
            heapq.heappush(self._seconds, second)
            if self._timer_second is None or second < self._timer_second:
                self._arm(second)
        bucket.append(weakref.ref(conn))
        self._entries += 1
        if self._entries >= self._sweep_at:
            self._sweep()

    def watched(self) -> int:
        """Entries held (connections gone since the last sweep included)."""
        return self._entries

    def stop(self) -> None:
        """Forget every deadline (shutdown: the connections are being closed anyway)."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._timer_second = None
        self._buckets.clear()
        self._seconds.clear()
        self._entries = 0

    def _arm(self, second: int) -> None:
        if self._timer is not None:
            self._timer.cancel()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(max(0.0, second - time.time()), self._fire)
        self._timer_second = second

    def _fire(self) -> None:
        self._timer = self._timer_second = None
        now = time.time()
        seconds = self._seconds
        while seconds and seconds[0] <= now:
            bucket = self._buckets.pop(heapq.heappop(seconds))
            self._entries -= len(bucket)
            for ref in bucket:
                conn = ref()
                if conn is None:
                    continue
                try:
                    conn.session_expired()
                except Exception:  # one broken connection must not keep the others open
                    log.exception("could not end a connection whose session expired")
        if seconds:  # the next bucket (or this one again, if the timer fired early)
            self._arm(seconds[0])

    def _sweep(self) -> None:
        """Drop the references of connections already gone."""
        for second in list(self._buckets):
            bucket = self._buckets[second]
            bucket[:] = [ref for ref in bucket if ref() is not None]
        self._entries = sum(len(b) for b in self._buckets.values())
        self._sweep_at = max(_FIRST_SWEEP_AT, 2 * self._entries)
