"""Group commit: concurrent inserts share statements, every row is stored, a bad row fails
alone, and a caller that goes away does not take its row with it."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import psycopg2
import pytest

from db.group_insert import GroupInsert
from db.pool import Database, PoolSettings


@pytest.fixture
async def table(database_url: str) -> AsyncIterator[tuple[Database, str]]:
    db = await Database.connect(PoolSettings(dsn=database_url, maxsize=4))
    name = f"group_insert_{uuid.uuid4().hex[:8]}"
    await db.execute(f"CREATE TABLE {name} (id int PRIMARY KEY, note text CHECK (note <> 'bad'))")
    try:
        yield db, name
    finally:
        await db.execute(f"DROP TABLE {name}")
        await db.close()


def writer(db: Database, name: str) -> GroupInsert:
    return GroupInsert(db, name, ("id", "note"), "(%s, %s)")


async def stored(db: Database, name: str) -> list[int]:
    rows = await db.fetch_all(f"SELECT id FROM {name} ORDER BY id")
    return [row["id"] for row in rows]


async def test_concurrent_rows_share_statements_and_all_are_stored(
    table: tuple[Database, str],
) -> None:
    db, name = table
    inserts = writer(db, name)
    await asyncio.gather(*(inserts.insert((i, f"row {i}")) for i in range(300)))
    assert await stored(db, name) == list(range(300))
    assert inserts.statements < 30  # one per batch, not one per row
    await inserts.insert((300, "alone"))  # at rest, a row goes at once, alone
    assert await stored(db, name) == list(range(301))


async def test_rows_ready_in_the_same_loop_pass_join_the_statement(
    table: tuple[Database, str],
) -> None:
    """Requests whose answers arrive together (one pass of the event loop) share one
    statement, even when the first of them already started the writer."""
    db, name = table
    inserts = writer(db, name)

    async def one_step_later(i: int) -> None:
        await asyncio.sleep(0)  # runs after the writer's first step is scheduled
        await inserts.insert((i, "later"))

    await asyncio.gather(inserts.insert((0, "first")), *(one_step_later(i) for i in range(1, 9)))
    assert await stored(db, name) == list(range(9))
    assert inserts.statements == 1


async def test_a_bad_row_fails_alone(table: tuple[Database, str]) -> None:
    db, name = table
    inserts = writer(db, name)
    outcomes = await asyncio.gather(
        *(inserts.insert((i, "bad" if i == 7 else "ok")) for i in range(20)),
        return_exceptions=True,
    )
    assert isinstance(outcomes[7], psycopg2.IntegrityError)
    assert [o for i, o in enumerate(outcomes) if i != 7] == [None] * 19
    assert await stored(db, name) == [i for i in range(20) if i != 7]


async def test_a_cancelled_caller_still_gets_its_row_stored(table: tuple[Database, str]) -> None:
    db, name = table
    inserts = writer(db, name)
    callers = [asyncio.create_task(inserts.insert((i, "x"))) for i in range(10)]
    await asyncio.sleep(0)  # queued
    for task in callers[::2]:
        task.cancel()
    await asyncio.gather(*callers, return_exceptions=True)
    await inserts.close()
    assert await stored(db, name) == list(range(10))
