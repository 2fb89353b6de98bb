"""In-process circuit breaker with the same semantics as the Redis one.

Used on its own in single-process setups and as the fallback of ``RedisCircuitBreaker``
while Redis is unreachable. Timing uses ``time.monotonic`` (one process, one clock).
"""

from __future__ import annotations

import math
import secrets
import time
from collections.abc import Callable
from typing import Any

from services.breaker.base import (
    CLOSED,
    HALF_OPEN,
    ISOLATED,
    OPEN,
    CircuitOpen,
    GuardMixin,
    Permit,
    TransitionCallback,
    iso_from_ms,
    notify,
)


class LocalCircuitBreaker(GuardMixin):
    """Closed → open (failure ratio with minimum throughput, or N consecutive failures) →
    half-open after ``break_duration_s`` with exactly one probe → closed / open again."""

    def __init__(
        self,
        name: str,
        *,
        failure_ratio: float = 0.5,
        sampling_window_s: float = 30,
        minimum_throughput: int = 10,
        consecutive_failures: int = 5,
        break_duration_s: float = 30,
        probe_lease_s: float = 10,
        on_transition: TransitionCallback | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.failure_ratio = failure_ratio
        self.sampling_window_s = sampling_window_s
        self.minimum_throughput = minimum_throughput
        self.consecutive_failures = consecutive_failures
        self.break_duration_s = break_duration_s
        self.probe_lease_s = probe_lease_s
        self.on_transition = on_transition
        self._clock = clock
        self._bucket_s = max(1.0, sampling_window_s / 10)
        self._nbuckets = math.ceil(sampling_window_s / self._bucket_s)
        self._state = CLOSED
        self._gen = 0
        self._consec = 0
        self._buckets: dict[int, list[int]] = {}  # bucket index -> [successes, failures]
        self._open_until = 0.0
        self._opened_at_ms: float | None = None
        self._last_failures = 0
        self._probe_token: str | None = None
        self._probe_until = 0.0

    # -- internals -------------------------------------------------------------------
    def _counts(self, now: float) -> tuple[int, int]:
        first = int(now // self._bucket_s) - self._nbuckets + 1
        for idx in [i for i in self._buckets if i < first]:
            del self._buckets[idx]
        s = sum(b[0] for b in self._buckets.values())
        f = sum(b[1] for b in self._buckets.values())
        return s, f

    async def _transition(self, state: str) -> None:
        previous, self._state = self._state, state
        self._gen += 1
        self._consec = 0
        self._buckets.clear()
        self._probe_token = None
        await notify(self.on_transition, self.name, state, previous, time.time() * 1000)

    async def _open(self, failures: int) -> None:
        self._open_until = self._clock() + self.break_duration_s
        self._opened_at_ms = time.time() * 1000
        self._last_failures = failures
        await self._transition(OPEN)

    async def _settle(self) -> None:
        if self._state == OPEN and self._clock() >= self._open_until:
            await self._transition(HALF_OPEN)

    # -- public API ------------------------------------------------------------------
    async def acquire(self) -> Permit:
        """Return a permit, or raise ``CircuitOpen`` with the time to wait."""
        if self._state == CLOSED:
            return Permit(self.name, self._gen, None, shared=False)
        if self._state == ISOLATED:
            raise CircuitOpen(self.name, self.break_duration_s)
        await self._settle()
        now = self._clock()
        if self._state == OPEN:
            raise CircuitOpen(self.name, max(0.0, self._open_until - now))
        if self._probe_token is None or now >= self._probe_until:
            self._probe_token = secrets.token_hex(8)
            self._probe_until = now + self.probe_lease_s
            return Permit(self.name, self._gen, self._probe_token, shared=False)
        raise CircuitOpen(self.name, max(0.0, self._probe_until - now))

    async def _record(self, permit: Permit, ok: bool) -> None:
        if permit.gen != self._gen:
            return
        if self._state == HALF_OPEN:
            if permit.token is None or permit.token != self._probe_token:
                return
            if ok:
                self._opened_at_ms = None
                self._last_failures = 0
                await self._transition(CLOSED)
            else:
                await self._open(1)
            return
        if self._state != CLOSED:
            return
        now = self._clock()
        bucket = self._buckets.setdefault(int(now // self._bucket_s), [0, 0])
        if ok:
            bucket[0] += 1
            self._consec = 0
            return
        bucket[1] += 1
        self._consec += 1
        s, f = self._counts(now)
        total = s + f
        if self._consec >= self.consecutive_failures or (
            total >= self.minimum_throughput and f / total >= self.failure_ratio
        ):
            await self._open(f)

    async def release(self, permit: Permit) -> None:
        """Give a permit back unrecorded (the caller went away); frees a probe lease."""
        if permit.token is not None and permit.token == self._probe_token:
            self._probe_token = None

    async def isolate(self) -> dict[str, Any]:
        """Force the circuit open until ``reset()``."""
        if self._state != ISOLATED:
            self._opened_at_ms = time.time() * 1000
            await self._transition(ISOLATED)
        return await self.state()

    async def reset(self) -> dict[str, Any]:
        """Force the circuit closed and forget the counters."""
        self._opened_at_ms = None
        self._last_failures = 0
        if self._state != CLOSED:
            await self._transition(CLOSED)
        else:
            self._gen += 1
            self._consec = 0
            self._buckets.clear()
        return await self.state()

    async def state(self) -> dict[str, Any]:
        """``{name, state, failures, opened_at, shared: False}``."""
        await self._settle()
        failures = self._counts(self._clock())[1] if self._state == CLOSED else self._last_failures
        opened = self._opened_at_ms
        return {
            "name": self.name,
            "state": self._state,
            "failures": failures,
            "opened_at": iso_from_ms(opened)
            if opened is not None and self._state != CLOSED
            else None,
            "shared": False,
        }

    def mirror(self, state: str) -> None:
        """Silently follow an operator's isolate/reset made on the shared breaker, so the
        fallback honours it during a Redis outage (no transition is reported)."""
        if state == ISOLATED and self._state != ISOLATED:
            self._state, self._gen = ISOLATED, self._gen + 1
            self._opened_at_ms = time.time() * 1000
        elif state == CLOSED and self._state != CLOSED:
            self._state, self._gen = CLOSED, self._gen + 1
            self._opened_at_ms = None
            self._consec, self._last_failures, self._probe_token = 0, 0, None
            self._buckets.clear()
