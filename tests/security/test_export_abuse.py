"""Finding 1 (2026-12-07): one user could take the database away from everyone by opening
exports and never reading them (each held a pooled connection idle in a transaction).

The attack is replayed with raw sockets that send the request and never read the answer.
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import psycopg2
import pytest
from aiohttp.test_utils import TestClient

from handlers.export import EXPORT_GUARD
from server.keys import DB
from tests.conftest import AppFactory
from tests.faults.support import wait_for
from tests.helpers import Authed, register_user

MANY_INTERACTIONS = """
INSERT INTO interactions (user_id, type, value, payload)
SELECT %(u)s, 'view', g, jsonb_build_object('n', g, 'pad', repeat('x', 200))
FROM generate_series(1, %(n)s) AS g
"""


class StalledReader:
    """An export request whose client never reads: the server's writes pile up."""

    def __init__(self, port: int, token: str) -> None:
        self._port = port
        self._token = token
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(
            "127.0.0.1", self._port, limit=1024
        )
        sock = self.writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.writer.transport.pause_reading()
        self.writer.write(
            b"GET /api/v1/export HTTP/1.1\r\nHost: x\r\n"
            + f"Authorization: Bearer {self._token}\r\n\r\n".encode()
        )
        await self.writer.drain()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


@pytest.fixture
async def stalled() -> AsyncIterator[list[StalledReader]]:
    readers: list[StalledReader] = []
    yield readers
    for r in readers:
        r.close()


def idle_in_transaction(database_url: str) -> int:
    conn = psycopg2.connect(database_url)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state = 'idle in transaction' AND application_name = 'fluentpro'"
            )
            return int(cur.fetchone()[0])
    finally:
        conn.close()


async def _big_user(client: TestClient[Any, Any]) -> Authed:
    who = await register_user(client)
    await client.app[DB].execute(MANY_INTERACTIONS, {"u": who.user["id"], "n": 40_000})
    return who


async def test_stalled_exports_neither_pile_up_nor_starve_others(
    make_client: AppFactory, stalled: list[StalledReader], database_url: str
) -> None:
    client = await make_client(events={"send_timeout_s": 1.0})
    attacker = await _big_user(client)
    bystander = await register_user(client)
    port = client.server.port
    assert port is not None
    for _ in range(10):
        reader = StalledReader(port, attacker.token)
        await reader.open()
        stalled.append(reader)
    # Everyone else is served at once, and PostgreSQL is ready.
    started = time.monotonic()
    r = await client.get("/api/v1/learning-paths", headers=bystander.headers)
    assert r.status == 200, await r.text()
    assert time.monotonic() - started < 2
    assert (await client.get("/health/ready")).status == 200
    # Only one export per user runs; the attacker's next one is refused with 429.
    r = await client.get("/api/v1/export", headers=attacker.headers)
    assert r.status == 429, await r.text()
    assert "Retry-After" in r.headers
    # The stalled one is dropped after the write timeout and its snapshot released.
    await wait_for(lambda: idle_in_transaction(database_url) == 0, within_s=15, every_s=0.2)
    r = await client.get("/api/v1/export", headers=attacker.headers)
    assert r.status == 200, await r.text()
    assert (await r.text()).rstrip().endswith("}")


async def test_exports_share_a_small_connection_budget(
    make_client: AppFactory, stalled: list[StalledReader]
) -> None:
    client = await make_client(events={"send_timeout_s": 30.0}, activity={"export_connections": 1})
    first = await _big_user(client)
    second = await register_user(client)
    reader = StalledReader(client.server.port or 0, first.token)
    await reader.open()
    stalled.append(reader)
    guard = client.app[EXPORT_GUARD]
    # The stalled export holds the budget's only connection.
    await wait_for(guard._budget.locked, within_s=10)
    r = await client.get("/api/v1/export", headers=second.headers)
    assert r.status == 503, await r.text()
    assert "Retry-After" in r.headers
    # The pool itself is not starved.
    r = await client.get("/api/v1/learning-paths", headers=second.headers)
    assert r.status == 200


async def test_every_connection_has_idle_in_transaction_timeout(
    client: TestClient[Any, Any],
) -> None:
    value = await client.app[DB].fetch_val("SHOW idle_in_transaction_session_timeout")
    assert value == "30s"
