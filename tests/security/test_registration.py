"""Findings 3, 5 and 6 (2026-12-07): sign-up flooding and enumeration, the 8-character
minimum, and a policy that judged the raw text while the hash saw its NFKC form."""

from __future__ import annotations

import statistics
import time
import uuid
from typing import Any

from aiohttp.test_utils import TestClient

from tests.conftest import AppFactory
from tests.helpers import DEFAULT_PASSWORD

REGISTER = "/api/v1/auth/register"


def _email() -> str:
    return f"u-{uuid.uuid4().hex[:12]}@example.com"


async def _register(client: TestClient[Any, Any], email: str, password: str, **headers: str) -> Any:
    return await client.post(REGISTER, json={"email": email, "password": password}, headers=headers)


async def test_registration_is_rate_limited_per_address(make_client: AppFactory) -> None:
    client = await make_client(
        server={"trust_forwarded_for": True},
        limits={"register_per_address_per_minute": 3, "register_per_minute": 1000},
    )
    statuses = [
        (
            await _register(
                client, _email(), DEFAULT_PASSWORD, **{"X-Forwarded-For": "198.51.100.1"}
            )
        ).status
        for _ in range(5)
    ]
    assert statuses == [201, 201, 201, 429, 429], statuses
    r = await _register(client, _email(), DEFAULT_PASSWORD, **{"X-Forwarded-For": "198.51.100.1"})
    assert r.status == 429 and float(r.headers["Retry-After"]) > 0
    assert r.content_type == "application/problem+json"
    # Another address still gets in.
    r = await _register(client, _email(), DEFAULT_PASSWORD, **{"X-Forwarded-For": "198.51.100.2"})
    assert r.status == 201, await r.text()


async def test_registration_has_a_global_limit(make_client: AppFactory) -> None:
    client = await make_client(
        server={"trust_forwarded_for": True},
        limits={"register_per_address_per_minute": 1000, "register_per_minute": 4},
    )
    statuses = [
        (
            await _register(
                client, _email(), DEFAULT_PASSWORD, **{"X-Forwarded-For": f"198.51.100.{i + 10}"}
            )
        ).status
        for i in range(6)
    ]
    assert statuses == [201, 201, 201, 201, 429, 429], statuses


async def test_taken_address_costs_as_long_as_a_new_account(make_client: AppFactory) -> None:
    # A real cost (not the suite's 4) so the hash dominates, as in production.
    client = await make_client(auth={"bcrypt_cost": 10})
    taken = _email()
    assert (await _register(client, taken, DEFAULT_PASSWORD)).status == 201
    new_times, taken_times = [], []
    for _ in range(6):
        started = time.perf_counter()
        r = await _register(client, _email(), DEFAULT_PASSWORD)
        new_times.append(time.perf_counter() - started)
        assert r.status == 201
        started = time.perf_counter()
        r = await _register(client, taken.upper(), DEFAULT_PASSWORD)
        taken_times.append(time.perf_counter() - started)
        assert r.status == 409
    new_median, taken_median = statistics.median(new_times), statistics.median(taken_times)
    # Before the fix a taken address answered without hashing: ~1 ms against ~60 ms.
    assert taken_median > 0.7 * new_median, (new_median, taken_median)


async def test_minimum_length_is_15(client: TestClient[Any, Any]) -> None:
    r = await _register(client, _email(), "quartz-ember-91")  # 15 characters
    assert r.status == 201, await r.text()
    r = await _register(client, _email(), "quartz-ember-9")  # 14 characters
    assert r.status == 422, await r.text()
    assert any("at least 15" in reason for reason in (await r.json())["errors"]["password"])


async def test_policy_judges_the_normalised_password(client: TestClient[Any, Any]) -> None:
    # Fullwidth "password123456": NFKC turns it into a common password, refused as such.
    fullwidth = "ｐａｓｓｗｏｒｄ１２３４５６７"
    r = await _register(client, _email(), fullwidth)
    assert r.status == 422, await r.text()
    # A good password typed in fullwidth signs in with its ASCII form (and vice versa).
    email = _email()
    wide = "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in DEFAULT_PASSWORD)
    assert (await _register(client, email, wide)).status == 201
    r = await client.post("/api/v1/auth/login", json={"email": email, "password": DEFAULT_PASSWORD})
    assert r.status == 200, await r.text()
