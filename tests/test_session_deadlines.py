"""The process-wide session deadlines: each watched connection ends within a second of its
session's expiry, never before it; a connection already gone costs nothing and its entry
does not pile up. (Through the HTTP API: tests/security/test_stream_lifetime.py.)"""

from __future__ import annotations

import asyncio
import time

from handlers.session_expiry import SessionDeadlines


class Conn:
    def __init__(self) -> None:
        self.ended_at: float | None = None

    def session_expired(self) -> None:
        assert self.ended_at is None, "ended twice"
        self.ended_at = time.time()


class Broken:
    def session_expired(self) -> None:
        raise RuntimeError("boom")


async def test_each_connection_ends_within_a_second_of_its_expiry() -> None:
    deadlines = SessionDeadlines()
    start = time.time()
    soon, also_soon, later, never = Conn(), Conn(), Conn(), Conn()
    expiries = {soon: start + 0.3, also_soon: start + 0.35, later: start + 1.6}
    deadlines.watch(expiries[later], later)  # armed first; the sooner ones re-arm the timer
    deadlines.watch(expiries[soon], soon)
    deadlines.watch(expiries[also_soon], also_soon)
    deadlines.watch(None, never)
    await asyncio.sleep(1.4)
    for conn in (soon, also_soon):
        assert conn.ended_at is not None
        assert expiries[conn] <= conn.ended_at <= expiries[conn] + 1.1
    assert later.ended_at is None
    await asyncio.sleep(1.6)
    assert later.ended_at is not None
    assert expiries[later] <= later.ended_at <= expiries[later] + 1.1
    assert never.ended_at is None
    deadlines.stop()


async def test_one_failing_connection_does_not_keep_the_others_open() -> None:
    deadlines = SessionDeadlines()
    ok = Conn()
    broken = Broken()
    at = time.time() + 0.2
    deadlines.watch(at, broken)
    deadlines.watch(at, ok)
    await asyncio.sleep(1.5)
    assert ok.ended_at is not None
    deadlines.stop()


async def test_connections_gone_before_their_expiry_are_dropped_not_kept() -> None:
    deadlines = SessionDeadlines()
    far = time.time() + 3600
    kept = [Conn() for _ in range(10)]
    for conn in kept:
        deadlines.watch(far, conn)
    for _ in range(20_000):  # short-lived connections reconnecting in a loop
        deadlines.watch(far, Conn())  # freed at once: only a dead reference is left
    # The live ten plus at most one sweep's worth of dead entries.
    assert deadlines.watched() <= 10 + 2 * 1024
    deadlines.stop()
    assert deadlines.watched() == 0


async def test_stop_cancels_pending_deadlines() -> None:
    deadlines = SessionDeadlines()
    conn = Conn()
    deadlines.watch(time.time() + 0.1, conn)
    deadlines.stop()
    await asyncio.sleep(1.3)
    assert conn.ended_at is None
