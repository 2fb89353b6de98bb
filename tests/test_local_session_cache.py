"""The in-process session cache: answers from memory, yet revocations and user changes made
on another process are seen by the very next request."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient

from handlers.keys import ACCOUNTS
from services.auth_user import AuthUser
from services.invalidation_listener import RespError, parse_resp
from services.session_cache import LocalSessionCache
from tests.conftest import AppFactory
from tests.faults.support import wait_for
from tests.helpers import DEFAULT_PASSWORD, register_user

ME = "/api/v1/me"


def _user(session_id: str = "s1", user_id: str = "u1") -> AuthUser:
    return AuthUser(
        id=user_id, email="a@example.com", display_name="A", role="user", session_id=session_id
    )


def test_resp_parser_reads_complete_values_and_keeps_partial_ones() -> None:
    message = b"*3\r\n$7\r\nmessage\r\n$4\r\nchan\r\n$2\r\nhi\r\n"
    buf = bytearray(b"+OK\r\n" + message + message[:10])
    values, used = parse_resp(buf)
    assert values == [b"OK", [b"message", b"chan", b"hi"]]
    del buf[:used]
    assert parse_resp(buf) == ([], 0)  # the cut message waits for its remaining bytes
    buf += message[10:] + b"-ERR nope\r\n:3\r\n"
    values, used = parse_resp(buf)
    assert values[0] == [b"message", b"chan", b"hi"]
    assert isinstance(values[1], RespError) and str(values[1]) == "ERR nope"
    assert values[2] == 3 and used == len(buf)


def test_cache_answers_until_its_ttl_and_the_session_expiry() -> None:
    cache = LocalSessionCache(ttl_s=0.05)
    cache.put(b"d", _user(), time.time() + 60, cache.generation)
    hit = cache.get(b"d", via_cookie=True)
    assert hit is not None and hit.via_cookie and hit.session_id == "s1"
    assert cache.get(b"d", via_cookie=False).via_cookie is False  # type: ignore[union-attr]
    time.sleep(0.06)
    assert cache.get(b"d", via_cookie=False) is None and len(cache) == 0
    cache.put(b"e", _user(), time.time() - 1, cache.generation)  # session already expired
    assert cache.get(b"e", via_cookie=False) is None


def test_an_answer_read_before_an_invalidation_is_not_kept() -> None:
    cache = LocalSessionCache()
    generation = cache.generation
    cache.drop_session("s1")  # arrives while the lookup was waiting on Redis
    cache.put(b"d", _user(), time.time() + 60, generation)
    assert cache.get(b"d", via_cookie=False) is None


def test_drop_by_session_and_by_user_and_the_size_bound() -> None:
    cache = LocalSessionCache(max_entries=3)
    for i in range(3):
        cache.put(b"%d" % i, _user(f"s{i}", "u1" if i < 2 else "u2"), time.time() + 60, 0)
    cache.drop_session("s2")
    assert cache.get(b"2", via_cookie=False) is None and len(cache) == 2
    cache.drop_user("u1")
    assert len(cache) == 0
    generation = cache.generation
    for i in range(5):
        cache.put(b"%d" % i, _user(f"s{i}"), time.time() + 60, generation)
    assert len(cache) == 3 and cache.get(b"0", via_cookie=False) is None  # oldest evicted


async def wait_active(client: TestClient[Any, Any]) -> None:
    accounts = client.app[ACCOUNTS]
    await wait_for(lambda: accounts.local_cache_active, within_s=5.0)


async def test_revoked_on_one_process_is_refused_by_the_next_request_on_another(
    make_client: AppFactory,
) -> None:
    a, b = await make_client(), await make_client()
    await wait_active(b)
    authed = await register_user(a)
    lookups = b.app[ACCOUNTS].lookups
    for _ in range(20):  # a race would show up as an occasional 200
        r = await a.post(
            "/api/v1/auth/login",
            json={"email": authed.user["email"], "password": DEFAULT_PASSWORD},
        )
        assert r.status == 200, await r.text()
        headers = {"Authorization": f"Bearer {(await r.json())['token']}"}
        assert (await b.get(ME, headers=headers)).status == 200
        before = lookups["memory"]
        assert (await b.get(ME, headers=headers)).status == 200
        assert lookups["memory"] == before + 1  # answered from memory
        assert (await a.post("/api/v1/auth/logout", headers=headers)).status == 204
        r = await b.get(ME, headers=headers)
        assert r.status == 401, await r.text()


async def test_user_changes_on_one_process_are_seen_at_once_on_another(
    make_client: AppFactory,
) -> None:
    a, b = await make_client(), await make_client()
    await wait_active(b)
    authed = await register_user(a)
    for _ in range(2):  # the second answer comes from memory
        assert (await b.get(ME, headers=authed.headers)).status == 200
    r = await a.patch(ME, json={"display_name": "Renamed on A"}, headers=authed.headers)
    assert r.status == 200
    me = await (await b.get(ME, headers=authed.headers)).json()
    assert me["display_name"] == "Renamed on A"
    await a.app[ACCOUNTS].set_role(authed.user["id"], "admin")
    me = await (await b.get(ME, headers=authed.headers)).json()
    assert me["role"] == "admin"


async def test_concurrent_logouts_each_announce_their_own_revocation(
    make_client: AppFactory, redis: aioredis.Redis
) -> None:
    """Revocations flushed by concurrent requests: every one is published exactly once."""
    a, b = await make_client(), await make_client()
    await wait_active(b)
    authed = await register_user(a)
    sessions = []
    for _ in range(12):
        r = await a.post(
            "/api/v1/auth/login",
            json={"email": authed.user["email"], "password": DEFAULT_PASSWORD},
        )
        sessions.append({"Authorization": f"Bearer {(await r.json())['token']}"})
    for headers in sessions:  # every session is now known to b's memory
        assert (await b.get(ME, headers=headers)).status == 200
    pubsub = redis.pubsub()
    await pubsub.subscribe("fluentpro:revoked")
    try:
        outcomes = await asyncio.gather(
            *(a.post("/api/v1/auth/logout", headers=h) for h in sessions),
            *(a.get(ME, headers=authed.headers) for _ in range(12)),
        )
        assert [r.status for r in outcomes] == [204] * 12 + [200] * 12
        for headers in sessions:
            assert (await b.get(ME, headers=headers)).status == 401
        notices = []
        async with asyncio.timeout(5):
            while len(notices) < 12:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
                if message is not None:
                    notices.append(orjson.loads(message["data"])["session_id"])
        assert len(set(notices)) == 12
        extra = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.3)
        assert extra is None  # none announced twice
    finally:
        await pubsub.aclose()
