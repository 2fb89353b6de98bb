"""The aiopg pool and small query helpers. aiopg is imported only inside db/."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import psycopg2
import psycopg2.extensions
import psycopg2.extras
from psycopg2 import sql as pg_sql

from db.fair_pool import FairPool, PoolClosed, PoolTimeout
from services import aio_compat

Params = Mapping[str, Any] | Sequence[Any] | None

__all__ = [
    "Database",
    "FairPool",
    "PoolClosed",
    "PoolSettings",
    "PoolTimeout",
    "Prepared",
    "Snapshot",
]

# Errors callers may want to map (a dependency is unavailable).
OperationalError = psycopg2.OperationalError
InterfaceError = psycopg2.InterfaceError
IntegrityError = psycopg2.IntegrityError
UniqueViolation = psycopg2.errors.UniqueViolation
QueryCanceled = psycopg2.errors.QueryCanceled
_StatementMissing = psycopg2.errors.InvalidSqlStatementName
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
    idle_in_transaction_timeout_ms: int = 30_000
    timeout_s: float = 15.0
    connect_timeout_s: float = 5.0


_IDENT = re.compile(r"[a-z_][a-z0-9_]{0,62}")


@dataclass(frozen=True)
class Prepared:
    """A server-side prepared statement for a hot query: PostgreSQL parses and plans it
    once per connection instead of on every request (for a primary-key read, planning is
    about half of the server's work).

    ``body`` uses ``$1, $2, …`` in the order of ``params``; ``types`` are their SQL types.
    Run it with ``Database.fetch_prepared(stmt, {name: value, …})``.
    """

    name: str
    params: tuple[str, ...]
    types: tuple[str, ...]
    body: str
    prepare_sql: str = field(init=False, repr=False)
    execute_sql: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not _IDENT.fullmatch(self.name) or len(self.params) != len(self.types):
            raise ValueError(f"bad prepared statement {self.name!r}")
        if not all(_IDENT.fullmatch(p) for p in self.params):
            raise ValueError(f"bad parameter names in {self.name!r}")
        if not all(re.fullmatch(r"[a-z][a-z0-9_ ]*(\[\])?", t) for t in self.types):
            raise ValueError(f"bad parameter types in {self.name!r}")
        types = ", ".join(self.types)
        args = ", ".join(f"%({p})s" for p in self.params)
        object.__setattr__(self, "prepare_sql", f"PREPARE {self.name} ({types}) AS {self.body}")
        object.__setattr__(self, "execute_sql", f"EXECUTE {self.name} ({args})")


def with_statement_timeout(
    dsn: str,
    statement_timeout_ms: int,
    connect_timeout_s: float,
    idle_in_transaction_timeout_ms: int = 30_000,
) -> str:
    """Put ``statement_timeout`` and ``idle_in_transaction_session_timeout`` into the libpq
    options: the server cancels runaway queries and ends a session that sits inside an open
    transaction (a stalled stream's snapshot) instead of holding its locks and snapshot."""
    parts = urlsplit(dsn)
    query = dict(parse_qsl(parts.query))
    options = query.get("options", "")
    if "statement_timeout" not in options:
        options = f"{options} -c statement_timeout={int(statement_timeout_ms)}".strip()
    if "idle_in_transaction_session_timeout" not in options:
        idle = int(idle_in_transaction_timeout_ms)
        options = f"{options} -c idle_in_transaction_session_timeout={idle}".strip()
    query["options"] = options
    query.setdefault("connect_timeout", str(max(1, int(connect_timeout_s))))
    query.setdefault("application_name", "fluentpro")
    return urlunsplit(parts._replace(query=urlencode(query, quote_via=quote)))


class Database:
    """A thin wrapper over an aiopg pool: dict rows, explicit timeouts, transactions."""

    def __init__(self, pool: FairPool, settings: PoolSettings) -> None:
        self.pool = pool
        self.settings = settings

    @classmethod
    async def connect(cls, settings: PoolSettings) -> Database:
        """Open the pool (FIFO hand-over of connections, see ``db.fair_pool``)."""
        pool = await FairPool.create(
            with_statement_timeout(
                settings.dsn,
                settings.statement_timeout_ms,
                settings.connect_timeout_s,
                settings.idle_in_transaction_timeout_ms,
            ),
            minsize=settings.minsize,
            maxsize=settings.maxsize,
            timeout=settings.timeout_s,  # acquisition and per-operation timeout, as aiopg's
            recycle_s=300,
        )
        return cls(pool, settings)

    async def close(self) -> None:
        self.pool.close()
        await self.pool.wait_closed()

    @property
    def size(self) -> int:
        return self.pool.size

    @property
    def freesize(self) -> int:
        return self.pool.freesize

    @property
    def waiting(self) -> int:
        """Requests queued for a connection."""
        return self.pool.waiting

    async def wait_idle(self) -> None:
        """Wait until every connection of the pool is free (no polling: the pool wakes
        idle waiters on release). Bound it with ``asyncio.timeout``."""
        await self.pool.wait_idle()

    @contextlib.asynccontextmanager
    async def cursor(self) -> AsyncIterator[Any]:
        """A dict cursor on a pooled connection (autocommit: one statement, one transaction)."""
        conn = await self.pool.acquire()
        try:
            async with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cur:
                yield cur
        finally:
            self.pool.release(conn)

    async def fetch_prepared(
        self, stmt: Prepared, params: Mapping[str, Any]
    ) -> tuple[Any, ...] | None:
        """One row (a plain tuple) of a prepared statement: the lean path for hot reads.

        Each connection keeps one reusable cursor and prepares the statement on first use.
        Autocommit connections only (never inside ``transaction``).
        """
        pool = self.pool
        conn = await pool.acquire()
        try:
            state = pool.scratch(conn)
            cur = await _reusable_cursor(conn, state)
            prepared: set[str] = state.setdefault("prepared", set())
            if stmt.name not in prepared:
                await cur.execute(stmt.prepare_sql)
                prepared.add(stmt.name)
            try:
                await cur.execute(stmt.execute_sql, params)
            except _StatementMissing:  # deallocated behind our back: prepare again
                await cur.execute(stmt.prepare_sql)
                await cur.execute(stmt.execute_sql, params)
            row: tuple[Any, ...] | None = await cur.fetchone()
            return row
        finally:
            pool.release(conn)

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

    async def execute_lean(self, sql: str, params: Params = None) -> int:
        """``execute`` on the connection's reusable plain cursor: the lean path for a hot
        write (no cursor opened and closed per statement). Autocommit connections only."""
        pool = self.pool
        conn = await pool.acquire()
        try:
            cur = await _reusable_cursor(conn, pool.scratch(conn))
            await cur.execute(sql, params)
            return int(cur.rowcount)
        finally:
            pool.release(conn)

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


async def _reusable_cursor(conn: Any, state: dict[str, Any]) -> Any:
    """The plain cursor kept with a pooled connection (opened on first use)."""
    cur = state.get("cursor")
    if cur is None or cur.closed:
        cur = state["cursor"] = await conn.cursor()
    return cur


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
