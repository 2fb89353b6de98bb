"""Sessions revoked or changed while Redis is unreachable do not come back from the
session cache once Redis returns (the deletions that failed are replayed)."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from handlers.keys import ACCOUNTS
from tests.conftest import AppFactory
from tests.faults.proxy import FaultProxy, via_proxy
from tests.faults.support import wait_for
from tests.helpers import DEFAULT_PASSWORD, register_user


async def test_logout_during_redis_outage_stays_revoked(
    make_client: AppFactory, redis_url: str, redis_proxy: FaultProxy
) -> None:
    proxied = via_proxy(redis_url, redis_proxy)
    a: TestClient = await make_client(redis={"url": proxied, "socket_timeout_s": 0.3})
    b: TestClient = await make_client()  # another process, Redis reachable all along
    user = await register_user(a)
    second = await a.post(
        "/api/v1/auth/login", json={"email": user.user["email"], "password": DEFAULT_PASSWORD}
    )
    assert second.status == 200, await second.text()
    token2 = (await second.json())["token"]
    h1 = user.headers
    h2 = {"Authorization": f"Bearer {token2}"}
    for headers in (h1, h2):  # both sessions now sit in the shared session cache
        assert (await b.get("/api/v1/me", headers=headers)).status == 200

    await redis_proxy.down()
    r = await a.patch("/api/v1/me", json={"display_name": "Changed In Outage"}, headers=h1)
    assert r.status == 200, await r.text()
    a.session.cookie_jar.clear()
    r = await a.post("/api/v1/auth/logout", headers=h2)
    assert r.status == 204, await r.text()
    await redis_proxy.up()

    async def replayed() -> bool:
        me = await b.get("/api/v1/me", headers=h1)
        gone = await b.get("/api/v1/me", headers=h2)
        return gone.status == 401 and (await me.json())["display_name"] == "Changed In Outage"

    # The revoking process replays its failed deletions within a second of Redis returning.
    assert await wait_for(replayed, within_s=3.0, every_s=0.1) < 3.0


async def test_memory_cache_is_not_trusted_while_its_listener_is_cut_off(
    make_client: AppFactory, redis_url: str, redis_proxy: FaultProxy
) -> None:
    """A process whose pub/sub listener cannot hear Redis stops answering from memory
    (it could miss a revocation), and refuses a session revoked meanwhile."""
    a: TestClient = await make_client()
    b: TestClient = await make_client(
        redis={"url": via_proxy(redis_url, redis_proxy), "socket_timeout_s": 0.3}
    )
    accounts = b.app[ACCOUNTS]
    assert await wait_for(lambda: accounts.local_cache_active, within_s=5.0) < 5.0
    user = await register_user(a)
    for _ in range(2):
        assert (await b.get("/api/v1/me", headers=user.headers)).status == 200
    assert accounts.lookups["memory"] >= 1

    redis_proxy.blackhole()  # silent: no error, no answer
    assert await wait_for(lambda: not accounts.local_cache_active, within_s=3.0) < 3.0
    assert (await a.post("/api/v1/auth/logout", headers=user.headers)).status == 204
    memory_before = accounts.lookups["memory"]
    r = await b.get("/api/v1/me", headers=user.headers)
    assert r.status == 401, await r.text()
    assert accounts.lookups["memory"] == memory_before
    redis_proxy.heal()
