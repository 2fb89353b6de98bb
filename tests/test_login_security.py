"""Login security: same answer for unknown and wrong, throttling, long passwords, policy."""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from aiohttp.test_utils import TestClient

from server.keys import DB
from tests.conftest import AppFactory
from tests.helpers import DEFAULT_PASSWORD, register_user

LOGIN = "/api/v1/auth/login"
REGISTER = "/api/v1/auth/register"
NO_THROTTLE = {
    "login_failures_before_throttle": 1000,
    "login_address_failures_before_throttle": 1000,
    "login_account_failures_before_throttle": 1000,
}
FAST_THROTTLE = {
    "login_failures_before_throttle": 3,
    "login_address_failures_before_throttle": 1000,
    "login_account_failures_before_throttle": 1000,
    "login_throttle_base_s": 0.2,
    "login_throttle_max_s": 2,
}


async def login(client: TestClient[Any, Any], email: str, password: str) -> Any:
    return await client.post(LOGIN, json={"email": email, "password": password})


async def test_unknown_email_and_wrong_password_look_the_same(make_client: AppFactory) -> None:
    client = await make_client(auth={**NO_THROTTLE, "bcrypt_cost": 8})
    authed = await register_user(client)
    answers, timings = [], {"unknown": [], "wrong": []}
    for i in range(6):
        for kind, email in (("unknown", f"nobody{i}@example.com"), ("wrong", authed.user["email"])):
            started = time.perf_counter()
            r = await login(client, email, DEFAULT_PASSWORD + "-not")
            timings[kind].append(time.perf_counter() - started)
            body = await r.json()
            body.pop("request_id")
            answers.append((r.status, r.content_type, r.headers["WWW-Authenticate"], body))
    assert all(a == answers[0] for a in answers), answers
    assert answers[0][0] == 401
    # Both run one bcrypt verification at the same cost: similar medians.
    ratio = statistics.median(timings["unknown"]) / statistics.median(timings["wrong"])
    assert 0.5 < ratio < 2.0, timings


async def test_throttle_then_recover(make_client: AppFactory) -> None:
    client = await make_client(auth=FAST_THROTTLE)
    authed = await register_user(client)
    email = authed.user["email"]
    for _ in range(3):
        assert (await login(client, email, "wrong-password-entirely")).status == 401
    # Held: even the right password waits (the account is not locked, only delayed).
    r = await login(client, email, DEFAULT_PASSWORD)
    assert r.status == 429, await r.text()
    assert r.content_type == "application/problem+json"
    retry_after = int(r.headers["Retry-After"])
    assert 1 <= retry_after <= 2
    await asyncio.sleep(retry_after)  # a bounded wait on a known clock
    r = await login(client, email, DEFAULT_PASSWORD)
    assert r.status == 200, await r.text()
    # Success cleared the account's counter: one more mistake is a plain 401.
    assert (await login(client, email, "wrong-password-entirely")).status == 401


async def test_delays_grow_but_stay_capped(make_client: AppFactory) -> None:
    client = await make_client(
        auth={**FAST_THROTTLE, "login_throttle_base_s": 0.5, "login_throttle_max_s": 3}
    )
    email = "ghost@example.com"  # unknown accounts are throttled just the same
    waits = []
    for _ in range(5):
        r = await login(client, email, "wrong-password-entirely")
        while r.status == 401:
            r = await login(client, email, "wrong-password-entirely")
        assert r.status == 429
        waits.append(int(r.headers["Retry-After"]))
        await asyncio.sleep(waits[-1])
        r = await login(client, email, "wrong-password-entirely")
        assert r.status == 401  # the block passed; this failure raised the delay again
    assert waits == sorted(waits) and waits[-1] == 3 and waits[0] == 1


async def test_throttle_is_shared_by_processes(make_client: AppFactory) -> None:
    first, second = await make_client(auth=FAST_THROTTLE), await make_client(auth=FAST_THROTTLE)
    authed = await register_user(first)
    for _ in range(3):
        assert (await login(first, authed.user["email"], "wrong-password-entirely")).status == 401
    r = await login(second, authed.user["email"], DEFAULT_PASSWORD)
    assert r.status == 429, await r.text()
    assert int(r.headers["Retry-After"]) >= 1


async def test_throttle_per_client_address(make_client: AppFactory) -> None:
    client = await make_client(
        auth={
            **FAST_THROTTLE,
            "login_failures_before_throttle": 100,
            "login_address_failures_before_throttle": 4,
        }
    )
    authed = await register_user(client)
    for i in range(4):
        assert (await login(client, f"spray{i}@example.com", "Winter2024!")).status == 401
    r = await login(client, authed.user["email"], DEFAULT_PASSWORD)
    assert r.status == 429, await r.text()


async def test_throttle_holds_when_redis_is_down(make_client: AppFactory) -> None:
    # Nothing listens on port 1: every Redis call fails at once; counting moves in-process.
    client = await make_client(auth=FAST_THROTTLE, redis={"url": "redis://127.0.0.1:1/0"})
    authed = await register_user(client)
    r = await client.get("/api/v1/me", headers=authed.headers)
    assert r.status == 200, await r.text()  # sessions fall back to PostgreSQL
    for _ in range(3):
        assert (await login(client, authed.user["email"], "wrong-password-entirely")).status == 401
    r = await login(client, authed.user["email"], DEFAULT_PASSWORD)
    assert r.status == 429, await r.text()


async def test_72_byte_boundary_and_long_unicode(client: TestClient[Any, Any]) -> None:
    prefix = "Quartz-lynx-Oboe-tundra-97-saffron-Gable-wombat-Fjord-ivory-Crane-43-xyz"
    assert len(prefix.encode()) == 72
    exactly72 = await register_user(client, password=prefix)
    assert (await login(client, exactly72.user["email"], prefix)).status == 200
    assert (await login(client, exactly72.user["email"], prefix + "!")).status == 401

    longer = await register_user(client, password=prefix + "-tail-one")
    email = longer.user["email"]
    assert (await login(client, email, prefix + "-tail-one")).status == 200
    # Same first 72 bytes, different rest: a truncating hash would accept it.
    assert (await login(client, email, prefix + "-tail-two")).status == 401
    assert (await login(client, email, prefix)).status == 401

    alphabet = "日本語éßøπЖ文字列ğ🙂🚀ä"
    unicode_1024 = "".join(alphabet[(i * 7 + i // 3) % len(alphabet)] for i in range(1024))
    assert len(unicode_1024) == 1024 and len(unicode_1024.encode()) > 72
    big = await register_user(client, password=unicode_1024)
    assert (await login(client, big.user["email"], unicode_1024)).status == 200
    assert (await login(client, big.user["email"], unicode_1024[:-1] + "x")).status == 401
    stored = await client.app[DB].fetch_val(
        "SELECT password_hash FROM users WHERE id = %(id)s", {"id": big.user["id"]}
    )
    assert stored.startswith("fp1$$2b$")


async def test_policy_rejections_give_reasons(client: TestClient[Any, Any]) -> None:
    cases = {
        "common": ("password", "common"),
        "email": ("marianne-kowalski-zebra-9x", "e-mail"),
        "short": ("Zq7!x", "Too short"),
        "long": ("k" * 1025, "Too long"),
    }
    for name, (password, reason) in cases.items():
        r = await client.post(
            REGISTER,
            json={"email": f"marianne.kowalski+{name}@example.com", "password": password},
        )
        assert r.status == 422, (name, await r.text())
        body = await r.json()
        reasons = body["errors"]["password"]
        assert any(reason in text for text in reasons), (name, reasons)
        assert password not in await r.text() or name == "common"


async def test_rehash_on_login_when_cost_changes(make_client: AppFactory) -> None:
    cheap = await make_client()
    authed = await register_user(cheap)
    query = "SELECT password_hash FROM users WHERE id = %(id)s"
    before = await cheap.app[DB].fetch_val(query, {"id": authed.user["id"]})
    assert "$04$" in before
    dearer = await make_client(auth={"bcrypt_cost": 5})
    assert (await login(dearer, authed.user["email"], DEFAULT_PASSWORD)).status == 200
    after = await cheap.app[DB].fetch_val(query, {"id": authed.user["id"]})
    assert "$05$" in after
    assert (await login(cheap, authed.user["email"], DEFAULT_PASSWORD)).status == 200
