"""Group commit for a hot INSERT: rows inserted concurrently share one multi-row statement.

Every caller still waits until its own row is committed, so nothing is acknowledged before it
is stored. With one caller at a time a row is written at once, alone; under load, the rows
that arrive while a statement is running go together in the next one, so a busy table costs
one round trip per batch instead of one per request. If a batch fails for a reason other than
the database being unavailable, its rows are retried one by one, so one bad row fails alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from db.pool import Database, is_unavailable

log = logging.getLogger(__name__)

MAX_BATCH_ROWS = 200


class GroupInsert:
    """``INSERT INTO table (columns) VALUES …`` for rows given as tuples in column order.

    *placeholders* is one row's VALUES tuple, e.g. ``"(%s, %s, %s::jsonb)"``; it is fixed
    SQL text, repeated per row; the values always travel as parameters.
    """

    def __init__(
        self,
        db: Database,
        table: str,
        columns: Sequence[str],
        placeholders: str,
        *,
        max_rows: int = MAX_BATCH_ROWS,
    ) -> None:
        self._db = db
        self._head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
        self._row_sql = placeholders
        self._max_rows = max_rows
        self._queue: list[tuple[tuple[Any, ...], asyncio.Future[None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self.statements = 0  # how many INSERT statements ran (tests and benchmarks read it)

    async def insert(self, row: tuple[Any, ...]) -> None:
        """Store *row*; returns once it is committed. Raises what the database raised.

        A caller cancelled while waiting does not take its row back: it is stored anyway.
        """
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((row, future))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_all(), name="group-insert")
        await future

    async def close(self) -> None:
        """Wait until every queued row is written (at shutdown)."""
        while self._writer is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._writer)

    async def _write_all(self) -> None:
        try:
            while self._queue:
                # One pass of the loop first: rows of requests that are ready to run right
                # now join this statement instead of waiting for the next one.
                await asyncio.sleep(0)
                batch = self._queue[: self._max_rows]
                del self._queue[: self._max_rows]
                await self._write(batch)
        finally:
            self._writer = None

    async def _write(self, batch: list[tuple[tuple[Any, ...], asyncio.Future[None]]]) -> None:
        try:
            await self._execute([row for row, _ in batch])
        except Exception as exc:
            if len(batch) > 1 and not is_unavailable(exc):
                for item in batch:  # find the bad row; the others still get stored
                    await self._write([item])
                return
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for _, future in batch:
            if not future.done():
                future.set_result(None)

    async def _execute(self, rows: list[tuple[Any, ...]]) -> None:
        sql = self._head + ", ".join([self._row_sql] * len(rows))
        params = [value for row in rows for value in row]
        self.statements += 1
        await self._db.execute_lean(sql, params)
