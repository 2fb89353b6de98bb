"""Admission for data exports: one at a time per user (across processes) and a small budget
of database connections per process.

An export holds a pooled connection inside one snapshot transaction for as long as it
writes. Before this guard a user could open ten exports, never read them, and leave ten
connections "idle in transaction" while everyone else got 503 (security review 2026-12-07,
finding 1). Now each user has at most one export running (a Redis lease, renewed while the
export writes, with an in-process fallback when Redis is down), and exports together never
hold more than ``connections`` of the shared pool in one process; the rest of the pool is
always left to ordinary requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from services.errors import RateLimited, Unavailable

log = logging.getLogger(__name__)

LEASE_PREFIX = "fluentpro:export:running:"
_RELEASE_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
_RENEW_LUA = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""


class ExportGuard:
    """``async with guard.slot(user_id) as renew:`` around one export; ``await renew()`` as
    it makes progress so the lease outlives a long but moving export."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        connections: int,
        lease_s: float,
        wait_s: float = 5.0,
    ) -> None:
        self._redis = redis
        self._budget = asyncio.Semaphore(connections)
        self._lease_ms = int(lease_s * 1000)
        self._wait_s = wait_s
        self._release = redis.register_script(_RELEASE_LUA)
        self._renew = redis.register_script(_RENEW_LUA)
        self._local: set[str] = set()  # leases held while Redis is unreachable

    @contextlib.asynccontextmanager
    async def slot(self, user_id: str) -> AsyncIterator[Callable[[], Awaitable[None]]]:
        """RateLimited (429) while the user's other export runs; Unavailable (503) when the
        export budget stays taken for ``wait_s``."""
        key = LEASE_PREFIX + user_id
        token = secrets.token_hex(8)
        local = await self._acquire(key, token)
        try:
            try:
                async with asyncio.timeout(self._wait_s):
                    await self._budget.acquire()
            except TimeoutError:
                raise Unavailable(
                    "Too many exports are running; retry shortly.", retry_after=5
                ) from None
            try:
                yield self._renewer(key, token, local)
            finally:
                self._budget.release()
        finally:
            await self._drop(key, token, local)

    async def _acquire(self, key: str, token: str) -> bool:
        """Take the user's lease; True when it is held only in this process."""
        try:
            taken = await self._redis.set(key, token, nx=True, px=self._lease_ms)
            local = False
        except RedisError as exc:
            log.warning("export lease in Redis unavailable (%s); per process", exc)
            taken = key not in self._local
            local = True
        if not taken:
            raise RateLimited(
                "One of your exports is already running; wait for it to finish.", retry_after=5
            )
        if local:
            self._local.add(key)
        return local

    def _renewer(self, key: str, token: str, local: bool) -> Callable[[], Awaitable[None]]:
        last = [time.monotonic()]

        async def renew() -> None:
            now = time.monotonic()
            if local or now - last[0] < self._lease_ms / 3000:
                return  # at most one round trip per third of the lease
            last[0] = now
            with contextlib.suppress(RedisError):
                await self._renew(keys=[key], args=[token, self._lease_ms])

        return renew

    async def _drop(self, key: str, token: str, local: bool) -> None:
        if local:
            self._local.discard(key)
            return
        with contextlib.suppress(RedisError):
            await self._release(keys=[key], args=[token])
