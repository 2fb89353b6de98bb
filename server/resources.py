"""One cleanup context per shared resource, registered in dependency order by create_app."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import redis
import redis.asyncio as aioredis
from aiohttp import web
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.driver_info import DriverInfo

from db.migrate import apply_migrations
from db.pool import Database, PoolSettings
from server import infra
from server.config import Config
from server.keys import CONFIG, CPU_POOL, DB, REDIS

log = logging.getLogger(__name__)


# The lowest priority: with 32 logins at bcrypt cost 12, the loop's worst lag was 4.6-6.0 ms
# at 19 against 5.5-7.2 ms (once 14 ms) at 10, for the same hashing throughput. The price
# is paid only when other work saturates the cores: under the mixed benchmark's full load,
# login p99 rose from 0.4 s to about 1 s.
CPU_THREAD_NICENESS = 19


def lower_priority() -> None:
    """Run a CPU worker thread at a lower priority than the event loop's thread.

    On Linux ``setpriority`` takes a thread id; with the pool busy on every core (bcrypt
    at full tilt) the loop thread still gets the CPU when it has work, so request latency
    stays low while hashing throughput, when the loop is idle, is unchanged.
    """
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), CPU_THREAD_NICENESS)
    except (AttributeError, OSError):  # not Linux, or not allowed: run at normal priority
        pass


async def cpu_pool_ctx(app: web.Application) -> AsyncIterator[None]:
    """A thread pool sized to the cores for CPU-heavy work (bcrypt, zxcvbn, ranking)."""
    pool = ThreadPoolExecutor(
        max_workers=os.cpu_count() or 2, thread_name_prefix="cpu", initializer=lower_priority
    )
    app[CPU_POOL] = pool
    yield
    pool.shutdown(wait=True, cancel_futures=True)


async def database_ctx(app: web.Application) -> AsyncIterator[None]:
    """The aiopg pool, migrated and seeded before the app serves."""
    cfg = app[CONFIG].database
    url = cfg.url
    if not url:
        loop = asyncio.get_running_loop()
        located = await loop.run_in_executor(None, infra.locate_postgres, "", "", infra.var_dir())
        url = located.url  # "located" stays referenced: an embedded server lives with it
    db = await Database.connect(
        PoolSettings(
            dsn=url,
            minsize=cfg.pool_min,
            maxsize=cfg.pool_max,
            statement_timeout_ms=cfg.statement_timeout_ms,
            idle_in_transaction_timeout_ms=cfg.idle_in_transaction_timeout_ms,
            timeout_s=cfg.query_timeout_s,
            connect_timeout_s=cfg.connect_timeout_s,
        )
    )
    try:
        await apply_migrations(db)
        from db.catalog_seed import load_seed  # the catalog seed, idempotent

        await load_seed(db)
        app[DB] = db
        yield
    finally:
        await db.close()


# CLIENT SETINFO metadata, resolved once. Left to its default, redis-py builds a DriverInfo
# for every new connection and looks its own version up with importlib.metadata.version(),
# which reads and parses the package's METADATA file: about 1 ms of CPU on the event loop
# per connection. A burst of 32 logins opens 32 connections at once, and that alone held
# the loop for 30-40 ms (bench/bench_login.py).
DRIVER_INFO = DriverInfo(lib_version=redis.__version__)


def make_redis(url: str, config: Config, *, retries: int | None = None) -> aioredis.Redis:
    """A redis.asyncio client with explicit timeouts and retries (redis-py's default is 10)."""
    cfg = config.redis
    count = cfg.retries if retries is None else retries
    retry = Retry(ExponentialBackoff(cap=0.2, base=0.02), count) if count else Retry(NoBackoff(), 0)
    # A blocking pool: at the connection cap, a caller waits (up to the socket timeout) for
    # a free connection instead of failing at once with MaxConnectionsError.
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=cfg.max_connections,
        timeout=cfg.socket_timeout_s,
        socket_timeout=cfg.socket_timeout_s,
        socket_connect_timeout=cfg.connect_timeout_s,
        retry=retry,
        health_check_interval=15,
        decode_responses=False,
        driver_info=DRIVER_INFO,
    )
    return aioredis.Redis.from_pool(pool)  # closing the client closes its pool


# Connections opened before the app serves: a burst of requests (32 logins arriving
# together) would otherwise open them all at once, on the event loop, in the same few
# iterations (connect, HELLO, CLIENT SETINFO for each) on top of the requests' own work.
REDIS_WARM_CONNECTIONS = 32


async def warm_redis(client: aioredis.Redis, count: int) -> int:
    """Open up to ``count`` pooled connections now and return them to the pool.

    Best effort: a Redis that cannot be reached is left to the request path (which falls
    back or reports it), so start-up never fails here. Returns how many were opened.
    """
    pool = client.connection_pool
    count = min(count, getattr(pool, "max_connections", count))
    taken: list[Any] = []
    try:
        results = await asyncio.gather(
            *(pool.get_connection() for _ in range(count)), return_exceptions=True
        )
        taken = [r for r in results if not isinstance(r, BaseException)]
        if len(taken) < count:
            log.warning("Redis warm-up opened %d of %d connections", len(taken), count)
    finally:
        for conn in taken:
            await pool.release(conn)
    return len(taken)


async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
    """The general-purpose Redis client (cache, counters, event streams)."""
    config = app[CONFIG]
    url = config.redis.url
    located = None  # keeps an embedded server alive as long as this context
    if not url:
        loop = asyncio.get_running_loop()
        located = await loop.run_in_executor(None, infra.locate_redis, "", 1, infra.var_dir())
        url = located.url
    client = make_redis(url, config)
    app[REDIS] = client
    try:
        await warm_redis(client, REDIS_WARM_CONNECTIONS)
        yield
    finally:
        await client.aclose()
        del located
