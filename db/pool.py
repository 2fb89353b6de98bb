"""The aiopg pool and small query helpers. aiopg is imported only inside db/."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import aiopg
import psycopg2
import psycopg2.extensions
import psycopg2.extras
from psycopg2 import sql as pg_sql

from services import aio_compat

Params = Mapping[str, Any] | Sequence[Any] | None

# Errors callers may want to map (a dependency is unavailable).
OperationalError = psycopg2.OperationalError
InterfaceError = psycopg2.InterfaceError
IntegrityError = psycopg2.IntegrityError
UniqueViolation = psycopg2.errors.UniqueViolation
QueryCanceled = psycopg2.errors.QueryCanceled
DatabaseError = psycopg2.DatabaseError

psycopg2.extras.register_uuid()
# aiopg awaits every query through asyncio.wait_for, which loses cancellations on 3.11.
aio_compat.patch("aiopg.connection")


@dataclass(frozen=True)
class PoolSettings:
    dsn: str
    minsize: int = 1
    maxsize: int = 10
    statement_timeout_ms: int = 10_000
    timeout_s: float = 15.0
    connect_timeout_s: float = 5.0


def with_statement_timeout(dsn: str, statement_timeout_ms: int, connect_timeout_s: float) -> str:
    """Put ``statement_timeout`` into the libpq options so the server cancels runaway queries."""
    parts = urlsplit(dsn)
    query = dict(parse_qsl(parts.query))
    options = query.get("options", "")
    if "statement_timeout" not in options:
        options = f"{options} -c statement_timeout={int(statement_timeout_ms)}".strip()
    query["options"] = options
    query.setdefault("connect_timeout", str(max(1, int(connect_timeout_s))))
    query.setdefault("application_name", "fluentpro")
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))


class Database:
    """A thin wrapper over an aiopg pool: dict rows, explicit timeouts, transactions."""

    def __init__(self, pool: aiopg.Pool, settings: PoolSettings) -> None:
        self.pool = pool
        self.settings = settings

    @classmethod
    async def connect(cls, settings: PoolSettings) -> Database:
        pool = await aiopg.create_pool(
            with_statement_timeout(
                settings.dsn, settings.statement_timeout_ms, settings.connect_timeout_s
            ),
            minsize=settings.minsize,
            maxsize=settings.maxsize,
            timeout=settings.timeout_s,
            pool_recycle=300,
        )
        return cls(pool, settings)

    async def close(self) -> None:
        self.pool.close()
        await self.pool.wait_closed()

    @property
    def size(self) -> int:
        return int(self.pool.size)

    @property
    def freesize(self) -> int:
        return int(self.pool.freesize)

    async def wait_idle(self) -> None:
        """Wait until every connection of the pool is free (no polling: the pool's condition
        is notified on each release). Bound it with ``asyncio.timeout``."""
        cond = self.pool._cond  # aiopg's own condition, as Pool.wait_closed uses it
        async with cond:
            while self.pool.size > self.pool.freesize:
                await cond.wait()

    @contextlib.asynccontextmanager
    async def cursor(self) -> AsyncIterator[Any]:
        """A dict cursor on a pooled connection (autocommit: one statement, one transaction)."""
        async with self.pool.acquire() as conn:
            async with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
                yield cur

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Any]:
        """A dict cursor inside BEGIN … COMMIT; ROLLBACK on any exception."""
        async with self.pool.acquire() as conn:
            async with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
                await cur.execute("BEGIN")
                try:
                    yield cur
                except BaseException:
                    if not conn.closed:
                        await cur.execute("ROLLBACK")
                    raise
                else:
                    await cur.execute("COMMIT")

    async def fetch_one(self, sql: str, params: Params = None) -> dict[str, Any] | None:
        async with self.cursor() as cur:
            await cur.execute(sql, params)
            row = await cur.fetchone()
            return dict(row) if row is not None else None

    async def fetch_all(self, sql: str, params: Params = None) -> list[dict[str, Any]]:
        async with self.cursor() as cur:
            await cur.execute(sql, params)
            return [dict(r) for r in await cur.fetchall()]

    async def fetch_val(self, sql: str, params: Params = None) -> Any:
        row = await self.fetch_one(sql, params)
        return next(iter(row.values())) if row else None

    async def execute(self, sql: str, params: Params = None) -> int:
        async with self.cursor() as cur:
            await cur.execute(sql, params)
            return int(cur.rowcount)

    async def stream(
        self, sql: str, params: Params = None, *, batch: int = 2000
    ) -> AsyncIterator[dict[str, Any]]:
        """Stream rows with ``DECLARE … CURSOR`` / ``FETCH`` in one transaction (flat memory).

        aiopg cannot use named cursors, so the cursor is declared in SQL. Leaving the
        iterator early (client gone) rolls back, closing the cursor and freeing the
        connection at once.
        """
        async with self.transaction() as cur:
            await cur.execute("DECLARE fp_stream NO SCROLL CURSOR FOR " + sql, params)
            fetch = f"FETCH {int(batch)} FROM fp_stream"
            while True:
                await cur.execute(fetch)
                rows = await cur.fetchall()
                if not rows:
                    break
                for row in rows:
                    yield dict(row)

    @contextlib.asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Snapshot]:
        """One ``REPEATABLE READ READ ONLY`` transaction (a consistent snapshot), times in UTC.

        Several ``DECLARE … CURSOR`` reads may run inside it one after another. It always
        ends with ROLLBACK (nothing to commit), which also closes any open cursor, so a
        reader that stops early (client gone) frees the connection at once.
        """
        async with self.pool.acquire() as conn:
            async with conn.cursor() as cur:
                await cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                try:
                    await cur.execute("SET LOCAL TimeZone = 'UTC'")
                    yield Snapshot(cur)
                finally:
                    if not conn.closed:
                        await cur.execute("ROLLBACK")


class Snapshot:
    """Reads inside one snapshot transaction (see ``Database.snapshot``); tuple rows."""

    def __init__(self, cur: Any) -> None:
        self._cur = cur
        self._cursors = 0

    async def fetch_one(self, sql: str, params: Params = None) -> tuple[Any, ...] | None:
        await self._cur.execute(sql, params)
        row = await self._cur.fetchone()
        return tuple(row) if row is not None else None

    async def batches(
        self, sql: str, params: Params = None, *, batch: int = 2000
    ) -> AsyncIterator[list[tuple[Any, ...]]]:
        """Rows of ``sql`` in lists of up to ``batch`` via its own DECLARE … CURSOR / FETCH."""
        self._cursors += 1
        name = pg_sql.Identifier(f"fp_snap_{self._cursors}")
        declare = pg_sql.SQL("DECLARE {} NO SCROLL CURSOR FOR {}").format(name, pg_sql.SQL(sql))
        await self._cur.execute(declare, params)
        fetch = pg_sql.SQL("FETCH {} FROM {}").format(pg_sql.Literal(int(batch)), name)
        while True:
            await self._cur.execute(fetch)
            rows = await self._cur.fetchall()
            if not rows:
                break
            yield rows
        await self._cur.execute(pg_sql.SQL("CLOSE {}").format(name))


def is_unavailable(exc: BaseException) -> bool:
    """True for errors that mean PostgreSQL is unreachable or too slow right now."""
    return isinstance(exc, (OperationalError, InterfaceError, QueryCanceled, TimeoutError))
