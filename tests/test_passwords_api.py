"""The password routes: analyse and generate, with and without login, rate limited."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from tests.conftest import AppFactory
from tests.helpers import register_user

ANALYZE = "/api/v1/passwords/analyze"
GENERATE = "/api/v1/passwords/generate"
ANALYSIS_KEYS = {
    "security_score",
    "strength",
    "entropy_bits",
    "crack_time",
    "vulnerabilities",
    "recommendations",
    "breached",
}


async def test_analyze_without_login(client: TestClient[Any, Any]) -> None:
    r = await client.post(ANALYZE, json={"password": "password123"})
    assert r.status == 200, await r.text()
    weak = await r.json()
    assert set(weak) >= ANALYSIS_KEYS
    assert weak["breached"] is True and weak["strength"] in ("very_weak", "weak")
    assert weak["vulnerabilities"] and weak["recommendations"]
    assert set(weak["crack_time"]) == {"online_throttled", "offline_slow_hash", "offline_fast_hash"}

    r = await client.post(ANALYZE, json={"password": "ochre-trumpet-glacier-nimble-parsnip"})
    strong = await r.json()
    assert strong["security_score"] > weak["security_score"]
    assert strong["breached"] is False


async def test_analyze_with_login_and_context(client: TestClient[Any, Any]) -> None:
    authed = await register_user(client)
    r = await client.post(
        ANALYZE,
        json={"password": "jonathan.smythe-1987", "context": {"email": "jonathan.smythe@x.io"}},
        headers=authed.headers,
    )
    assert r.status == 200, await r.text()
    body = await r.json()
    assert any("personal" in v.lower() for v in body["vulnerabilities"]), body


async def test_analyze_validation(client: TestClient[Any, Any]) -> None:
    assert (await client.post(ANALYZE, json={})).status == 422
    assert (await client.post(ANALYZE, json={"password": ""})).status == 422
    assert (await client.post(ANALYZE, json={"password": "x" * 1025})).status == 422
    assert (await client.post(ANALYZE, json={"password": 12345678})).status == 422
    assert (await client.post(ANALYZE, json={"password": "abc", "extra": 1})).status == 422
    r = await client.post(ANALYZE, data="[]", headers={"Content-Type": "application/json"})
    assert r.status == 400


async def test_generate_styles(client: TestClient[Any, Any]) -> None:
    r = await client.post(GENERATE)  # no body: the defaults
    assert r.status == 200, await r.text()
    body = await r.json()
    assert body["style"] == "random" and len(body["password"]) == 20
    assert set(body["security_analysis"]) >= ANALYSIS_KEYS
    assert len(body["alternatives"]) == 2 and body["password"] not in body["alternatives"]

    r = await client.post(GENERATE, json={"style": "passphrase", "words": 5})
    body = await r.json()
    assert r.status == 200 and body["password"].count("-") == 4
    assert 0 <= body["memorability_score"] <= 100

    r = await client.post(GENERATE, json={"style": "random", "length": 40})
    assert len((await r.json())["password"]) == 40

    for bad in ({"length": 7}, {"length": 129}, {"style": "emoji"}, {"words": 2}, {"length": "9"}):
        r = await client.post(GENERATE, json=bad)
        assert r.status == 422, (bad, await r.text())
        assert r.content_type == "application/problem+json"


async def test_anonymous_rate_limit(make_client: AppFactory) -> None:
    client = await make_client(limits={"anonymous_requests_per_minute": 3})
    for _ in range(3):
        assert (await client.post(ANALYZE, json={"password": "abc"})).status == 200
    r = await client.post(GENERATE, json={})
    assert r.status == 429, await r.text()
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    # A signed-in user has a budget of their own.
    authed = await register_user(client)
    r = await client.post(ANALYZE, json={"password": "abc"}, headers=authed.headers)
    assert r.status == 200, await r.text()
