"""Finding 10 (2026-12-07): the per-account login block ignored the source address, so a
stranger's one failed guess per block period kept the owner locked out for up to 300 s."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from tests.conftest import AppFactory
from tests.helpers import DEFAULT_PASSWORD, register_user

LOGIN = "/api/v1/auth/login"


async def _login(client: TestClient[Any, Any], email: str, password: str, address: str) -> int:
    r = await client.post(
        LOGIN,
        json={"email": email, "password": password},
        headers={"X-Forwarded-For": address},
    )
    return r.status


async def test_a_stranger_cannot_lock_the_owner_out(make_client: AppFactory) -> None:
    client = await make_client(
        server={"trust_forwarded_for": True},
        auth={
            "login_failures_before_throttle": 3,
            "login_address_failures_before_throttle": 1000,
            "login_account_failures_before_throttle": 8,
            "login_throttle_base_s": 60.0,
            "login_throttle_max_s": 300.0,
        },
    )
    owner = await register_user(client)
    email = owner.user["email"]
    home = "198.51.100.7"
    assert await _login(client, email, DEFAULT_PASSWORD, home) == 200  # a known address now

    # One stranger guesses until held: held for the stranger only.
    statuses = [
        await _login(client, email, f"guess-{i}-wrong-words", "203.0.113.5") for i in range(4)
    ]
    assert statuses == [401, 401, 401, 429], statuses
    assert await _login(client, email, DEFAULT_PASSWORD, "203.0.113.5") == 429
    assert await _login(client, email, DEFAULT_PASSWORD, home) == 200  # before the fix: 429

    # Guesses spread over many addresses end in a block for every unfamiliar address...
    for n in range(10):
        await _login(client, email, f"spread-{n}-wrong-words", f"203.0.113.{20 + n}")
    assert await _login(client, email, DEFAULT_PASSWORD, "192.0.2.99") == 429
    # ...which the owner's own address skips.
    assert await _login(client, email, DEFAULT_PASSWORD, home) == 200
