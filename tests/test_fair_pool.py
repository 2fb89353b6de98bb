"""The database pool serves waiters first come, first served, and leaks nothing.

Real PostgreSQL; a pool of one connection makes the order observable.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from db.fair_pool import FairPool, PoolClosed, PoolTimeout
from db.pool import Database, PoolSettings, Prepared, is_unavailable


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[FairPool]:
    p = await FairPool.create(database_url, minsize=1, maxsize=1, timeout=5.0)
    try:
        yield p
    finally:
        p.close()
        async with asyncio.timeout(5):
            await p.wait_closed()


async def _take(pool: FairPool) -> Any:
    return await pool.acquire()


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_waiters_are_served_in_arrival_order(pool: FairPool) -> None:
    held = await pool.acquire()
    served: list[int] = []

    async def waiter(i: int) -> None:
        conn = await pool.acquire()
        served.append(i)
        await asyncio.sleep(0)  # give latecomers a chance to jump the queue
        pool.release(conn)

    tasks = []
    for i in range(8):
        tasks.append(asyncio.create_task(waiter(i)))
        await _settle()  # arrival order is creation order
    assert pool.waiting == 8
    pool.release(held)
    # A newcomer arriving right after the release does not overtake the queue.
    late = asyncio.create_task(waiter(99))
    async with asyncio.timeout(5):
        await asyncio.gather(*tasks, late)
    assert served == [*range(8), 99]
    assert pool.size == 1 and pool.freesize == 1 and pool.waiting == 0
    assert pool.stats.waited == 9


async def test_a_cancelled_waiter_leaks_nothing(pool: FairPool) -> None:
    held = await pool.acquire()
    first = asyncio.create_task(_take(pool))
    await _settle()
    second = asyncio.create_task(_take(pool))
    await _settle()
    third = asyncio.create_task(_take(pool))
    await _settle()
    assert pool.waiting == 3

    # Cancelled while queued: it leaves the queue.
    second.cancel()
    await _settle()
    assert pool.waiting == 2

    # Cancelled just after the connection was handed to it (before it ran): the
    # connection passes on to the next waiter instead of leaking.
    pool.release(held)
    first.cancel()
    async with asyncio.timeout(5):
        conn = await third
    assert first.cancelled() and second.cancelled()
    assert pool.size == 1 and pool.waiting == 0
    pool.release(conn)
    assert pool.freesize == 1
    async with asyncio.timeout(1):
        await pool.wait_idle()


async def test_acquisition_times_out_with_a_clear_error(database_url: str) -> None:
    pool = await FairPool.create(database_url, minsize=1, maxsize=1, timeout=0.2)
    try:
        held = await pool.acquire()
        started = time.monotonic()
        with pytest.raises(PoolTimeout, match=r"No database connection became free within 0.2 s"):
            await pool.acquire()
        assert 0.15 < time.monotonic() - started < 2.0
        assert pool.waiting == 0 and pool.stats.timeouts == 1
        assert is_unavailable(PoolTimeout("x"))  # mapped to 503 like other timeouts
        pool.release(held)
        async with pool.acquire() as conn:  # the pool still works
            async with conn.cursor() as cur:
                await cur.execute("SELECT 1")
                assert await cur.fetchone() == (1,)
    finally:
        pool.close()
        await pool.wait_closed()


async def test_a_broken_connection_frees_its_place_for_the_next_waiter(pool: FairPool) -> None:
    held = await pool.acquire()
    waiter = asyncio.create_task(_take(pool))
    await _settle()
    held.close()  # e.g. the server went away, or a query timed out
    pool.release(held)
    async with asyncio.timeout(5):
        fresh = await waiter  # the waiter opened a new connection in its place
    assert fresh is not held and not fresh.closed
    assert pool.size == 1
    pool.release(fresh)
    # A connection released inside a transaction is not reused either.
    conn = await pool.acquire()
    async with conn.cursor() as cur:
        await cur.execute("BEGIN")
    pool.release(conn)
    assert pool.size == 0
    async with pool.acquire() as again:
        assert again is not conn
    assert pool.size == 1


async def test_capacity_skips_a_waiter_cancelled_in_the_same_tick(pool: FairPool) -> None:
    held = await pool.acquire()
    first = asyncio.create_task(_take(pool))
    await _settle()
    second = asyncio.create_task(_take(pool))
    await _settle()
    first.cancel()  # its future is cancelled, its task has not run its cleanup yet
    held.close()
    pool.release(held)  # the freed capacity goes to the next live waiter
    async with asyncio.timeout(5):
        conn = await second
    assert first.cancelled()
    pool.release(conn)
    assert pool.size == 1 and pool.freesize == 1 and pool.waiting == 0


async def test_close_fails_waiters_and_refuses_new_acquisitions(database_url: str) -> None:
    pool = await FairPool.create(database_url, minsize=1, maxsize=1, timeout=5.0)
    held = await pool.acquire()
    waiter = asyncio.create_task(_take(pool))
    await _settle()
    pool.close()
    with pytest.raises(PoolClosed):
        await waiter
    with pytest.raises(PoolClosed):
        await pool.acquire()
    pool.release(held)  # closed on release
    async with asyncio.timeout(5):
        await pool.wait_closed()
    assert pool.size == 0


async def test_database_prepared_read_survives_a_new_connection(database_url: str) -> None:
    db = await Database.connect(PoolSettings(dsn=database_url, minsize=1, maxsize=2))
    stmt = Prepared(
        name="fp_test_add", params=("a", "b"), types=("int", "int"), body="SELECT $1 + $2"
    )
    try:
        assert await db.fetch_prepared(stmt, {"a": 1, "b": 2}) == (3,)
        assert await db.fetch_prepared(stmt, {"a": 2, "b": 2}) == (4,)
        await db.execute("DEALLOCATE ALL")  # gone behind the pool's back: prepared again
        results = await asyncio.gather(
            *(db.fetch_prepared(stmt, {"a": i, "b": 1}) for i in range(6))
        )
        assert results == [(i + 1,) for i in range(6)]
        assert db.size <= 2
    finally:
        await db.close()
