"""redis-py on Python 3.11 must not swallow task cancellation (services/aio_compat.py)."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from services import aio_compat


async def test_cancelled_redis_loops_always_stop(redis: aioredis.Redis) -> None:
    aio_compat.install()  # as create_app and the entry points do
    client = aioredis.Redis(connection_pool=redis.connection_pool)  # socket_timeout set

    async def busy() -> None:
        while True:
            await client.set("fp:test:compat", "x")

    stopped = 0
    for i in range(200):
        task = asyncio.create_task(busy())
        for _ in range(1 + i % 7):  # cancel at varying points of the request cycle
            await asyncio.sleep(0)
        task.cancel()
        try:
            async with asyncio.timeout(2):
                await task
        except asyncio.CancelledError:
            stopped += 1
    assert stopped == 200
