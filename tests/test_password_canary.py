"""A unique password goes through register, login and analyse and must leave no trace:
not in any log record, not in Redis, and in PostgreSQL only as a salted hash."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient

from handlers.keys import DB

# Fixed table names (constants, not input); every row rendered as JSON text.
TABLES = ("users", "auth_sessions", "recommendations", "interactions", "tasks")
ROWS_AS_TEXT = {t: "SELECT row_to_json(t)::text AS j FROM " + t + " AS t" for t in TABLES}


def _record_text(record: logging.LogRecord) -> str:
    parts = [record.getMessage(), repr(record.args), str(record.exc_text or "")]
    parts.extend(f"{k}={v!r}" for k, v in vars(record).items())
    return "\n".join(parts)


async def _redis_dump(redis: aioredis.Redis) -> bytes:
    chunks: list[bytes] = []
    async for key in redis.scan_iter(count=500):
        chunks.append(key)
        kind = (await redis.type(key)).decode()
        if kind == "string":
            chunks.append(await redis.get(key) or b"")
        elif kind == "hash":
            for field, value in (await redis.hgetall(key)).items():
                chunks += [field, value]
        elif kind == "list":
            chunks += await redis.lrange(key, 0, -1)
        elif kind == "set":
            chunks += list(await redis.smembers(key))
        elif kind == "zset":
            chunks += [m for m, _ in await redis.zrange(key, 0, -1, withscores=True)]
        elif kind == "stream":
            for _id, fields in await redis.xrange(key):
                for field, value in fields.items():
                    chunks += [field, value]
    return b"\n".join(chunks)


async def test_password_canary_leaves_no_trace(
    client: TestClient[Any, Any], redis: aioredis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # the root logger: every record of every library
    canary = f"Canary-{uuid.uuid4().hex}-Marmot"
    email = f"probe-{uuid.uuid4().hex[:8]}@example.com"

    r = await client.post("/api/v1/auth/register", json={"email": email, "password": canary})
    assert r.status == 201, await r.text()
    token = (await r.json())["token"]
    r = await client.post("/api/v1/auth/login", json={"email": email, "password": canary})
    assert r.status == 200, await r.text()
    r = await client.post("/api/v1/auth/login", json={"email": email, "password": canary + "x"})
    assert r.status == 401
    r = await client.post("/api/v1/passwords/analyze", json={"password": canary})
    assert r.status == 200, await r.text()
    r = await client.post(
        "/api/v1/passwords/analyze",
        json={"password": canary, "context": {"email": email}},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status == 200
    # An invalid request that echoes fields must not echo the password either.
    r = await client.post(
        "/api/v1/auth/register", json={"email": "bad", "password": canary, "x": 1}
    )
    assert r.status == 422
    assert canary not in await r.text()

    assert caplog.records, "logging was captured"
    for record in caplog.records:
        assert canary not in _record_text(record), record.name
    assert canary not in caplog.text

    dump = await _redis_dump(redis)
    assert dump, "the test Redis DB holds the session cache and counters"
    assert canary.encode() not in dump
    assert token.encode() not in dump  # tokens too are stored only as hashes

    db = client.app[DB]
    for table, sql in ROWS_AS_TEXT.items():
        for row in await db.fetch_all(sql):
            assert canary not in row["j"], table
            assert token not in row["j"], table
    stored = await db.fetch_val("SELECT password_hash FROM users WHERE email = %(e)s", {"e": email})
    assert stored.startswith("fp1$$2b$")
