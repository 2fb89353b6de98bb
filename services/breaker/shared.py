"""Circuit breaker shared by all processes through Redis (atomic Lua, Redis clock).

CLOSED → OPEN when the failure ratio over the sampling window reaches ``failure_ratio``
with at least ``minimum_throughput`` calls, or after ``consecutive_failures`` failures in a
row; OPEN rejects for ``break_duration_s``; then HALF_OPEN admits exactly one probe across
all processes (a ``SET NX PX`` lease with a random token; a dead prober's lease expires
after ``probe_lease_s``); the probe's success closes, its failure reopens. ``isolate()``
rejects until ``reset()``.

If Redis is unreachable the breaker degrades to an in-process ``LocalCircuitBreaker`` with
the same semantics (logged once, ``shared`` is False in ``state()``) and tries Redis again
at most once a second.
"""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.commands.core import AsyncScript
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from services.aio_compat import reraise_swallowed_cancel
from services.breaker import lua as breaker_lua
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
from services.breaker.local import LocalCircuitBreaker

__all__ = [
    "CLOSED",
    "HALF_OPEN",
    "ISOLATED",
    "OPEN",
    "CircuitOpen",
    "LocalCircuitBreaker",
    "Permit",
    "RedisCircuitBreaker",
    "make_breaker_redis",
]

logger = logging.getLogger(__name__)

REDIS_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)
REDIS_RETRY_INTERVAL_S = 1.0


def make_breaker_redis(url: str, *, timeout_s: float = 0.2) -> Redis:
    """A Redis client fit for the breaker: short timeouts, no retries, str responses."""
    return Redis.from_url(
        url,
        retry=Retry(NoBackoff(), 0),
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        decode_responses=True,
        health_check_interval=0,
    )


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisCircuitBreaker(GuardMixin):
    """A circuit breaker whose state lives in Redis under the hash tag ``{cb:<name>}``."""

    def __init__(
        self,
        redis: Redis,
        name: str,
        *,
        failure_ratio: float = 0.5,
        sampling_window_s: float = 30,
        minimum_throughput: int = 10,
        consecutive_failures: int = 5,
        break_duration_s: float = 30,
        probe_lease_s: float = 10,
        on_transition: TransitionCallback | None = None,
    ) -> None:
        self.name = name
        self.redis = redis
        self.break_duration_s = break_duration_s
        self.on_transition = on_transition
        tag = f"{{cb:{name}}}"
        self._keys = [f"{tag}:s", f"{tag}:open", f"{tag}:probe", f"{tag}:w"]
        self._probe_lease_ms = max(1, int(probe_lease_s * 1000))
        self._window_ms = max(1000, int(sampling_window_s * 1000))
        self._record_args = [
            repr(float(failure_ratio)),
            self._window_ms,
            int(minimum_throughput),
            int(consecutive_failures),
            max(1, int(break_duration_s * 1000)),
        ]
        self._scripts: dict[str, AsyncScript] = {
            name: redis.register_script(getattr(breaker_lua, name))
            for name in ("ACQUIRE", "RECORD", "RELEASE", "ISOLATE", "RESET", "STATE")
        }
        self.local = LocalCircuitBreaker(
            name,
            failure_ratio=failure_ratio,
            sampling_window_s=sampling_window_s,
            minimum_throughput=minimum_throughput,
            consecutive_failures=consecutive_failures,
            break_duration_s=break_duration_s,
            probe_lease_s=probe_lease_s,
            on_transition=on_transition,
        )
        self._shared = True
        self._retry_at = 0.0
        self._trying = False

    @property
    def shared(self) -> bool:
        """False while Redis is unreachable and the in-process fallback decides."""
        return self._shared

    async def _run(self, script: str, args: list[Any]) -> list[Any] | None:
        """Run one script; None when Redis is (or just became) unreachable."""
        trial = not self._shared
        if trial:
            if self._trying or time.monotonic() < self._retry_at:
                return None
            self._trying = True
        try:
            result = await self._scripts[script](keys=self._keys, args=args)
            reraise_swallowed_cancel()
        except REDIS_ERRORS as exc:
            if self._shared:
                logger.warning(
                    "circuit %s: Redis unreachable (%s); using the in-process breaker",
                    self.name,
                    exc.__class__.__name__,
                )
            self._shared = False
            self._retry_at = time.monotonic() + REDIS_RETRY_INTERVAL_S
            return None
        finally:
            if trial:
                self._trying = False
        if not self._shared:
            logger.warning("circuit %s: Redis answers again; shared state restored", self.name)
            self._shared = True
        return list(result) if isinstance(result, list | tuple) else [result]

    async def _notify(self, result: list[Any]) -> None:
        previous = _text(result[5])
        if previous:
            await notify(
                self.on_transition,
                self.name,
                _text(result[1]),
                previous,
                int(result[4]),
            )

    async def acquire(self) -> Permit:
        """Return a permit, or raise ``CircuitOpen(name, retry_after)``."""
        token = secrets.token_hex(8)
        result = await self._run("ACQUIRE", [self._probe_lease_ms, token])
        if result is None:
            return await self.local.acquire()
        await self._notify(result)
        code, gen, retry_ms = int(result[0]), int(result[2]), int(result[3])
        if code == 1:
            return Permit(self.name, gen)
        if code == 2:
            return Permit(self.name, gen, token)
        retry = self.break_duration_s if retry_ms < 0 else retry_ms / 1000
        raise CircuitOpen(self.name, retry)

    async def _record(self, permit: Permit, ok: bool) -> None:
        if not permit.shared:
            await (self.local.record_success if ok else self.local.record_failure)(permit)
            return
        args = [1 if ok else 0, permit.gen, permit.token or "", *self._record_args]
        result = await self._run("RECORD", args)
        if result is not None:
            await self._notify(result)

    async def release(self, permit: Permit) -> None:
        """Give a permit back unrecorded (the caller went away); frees a probe lease."""
        if not permit.shared:
            await self.local.release(permit)
        elif permit.token is not None:
            await self._run("RELEASE", [permit.token])

    async def isolate(self) -> dict[str, Any]:
        """Reject every call, in every process, until ``reset()``."""
        self.local.mirror(ISOLATED)
        result = await self._run("ISOLATE", [])
        if result is None:
            return await self.local.isolate()
        await self._notify(result)
        return await self.state()

    async def reset(self) -> dict[str, Any]:
        """Close the circuit and forget the counters, in every process."""
        self.local.mirror(CLOSED)
        result = await self._run("RESET", [])
        if result is None:
            return await self.local.reset()
        await self._notify(result)
        return await self.state()

    async def state(self) -> dict[str, Any]:
        """``{name, state, failures, opened_at (ISO or None), shared}``."""
        result = await self._run("STATE", [self._window_ms])
        if result is None:
            return await self.local.state()
        await self._notify(result)
        state = _text(result[1])
        opened = _text(result[7])
        return {
            "name": self.name,
            "state": state,
            "failures": int(result[6]),
            "opened_at": iso_from_ms(int(opened)) if opened and state != CLOSED else None,
            "shared": True,
        }
