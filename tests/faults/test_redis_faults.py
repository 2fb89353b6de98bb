"""Redis outages and slowness under concurrent load (Redis reached through a fault proxy).

What must hold (ARCHITECTURE.md: nothing the user would miss lives only in Redis):
no 5xx except a documented 503 with Retry-After; login throttling and rate limits keep
counting in the process (fail closed); the AI breaker falls back to its in-process twin;
all of it is shared through Redis again within 5 s of Redis returning; no stored data lost.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiohttp.test_utils import TestClient

from handlers.config import Config
from handlers.keys import AI_GATEWAY, CAREER, DB, REDIS
from tests.conftest import AppFactory
from tests.fake_ai import FakeAI
from tests.faults.proxy import FaultProxy, via_proxy
from tests.faults.support import LagProbe, Tally, timed, users, wait_for
from tests.helpers import DEFAULT_PASSWORD, register_user

JD = "Kubernetes, Terraform, on-call, SLOs, Prometheus, incident response for a platform team"
OUTAGE_S = 3.0


def _provider_answer(client: TestClient[Any, Any]) -> dict[str, Any]:
    sre = client.app[CAREER].catalog.role("Site Reliability Engineer")
    assert sre is not None
    return {
        "recommendations": [
            {"role_id": sre.id, "title": sre.title, "match_score": 87, "reasoning": "AI."}
        ],
        "reasoning": ["The provider read the description."],
        "skill_gaps": ["Kubernetes"],
        "alternative_suggestions": ["Platform Engineer"],
    }


async def _app(
    make_client: AppFactory, config: Config, proxy: FaultProxy, fake_ai: FakeAI, **redis: Any
) -> TestClient[Any, Any]:
    return await make_client(
        redis={"url": via_proxy(config.redis.url, proxy), **redis},
        ai={"base_url": fake_ai.url, "max_retries": 0, "quota_per_minute": 10_000},
        server={"trust_forwarded_for": True},
        auth={
            "login_failures_before_throttle": 5,
            "login_address_failures_before_throttle": 1000,
            # The victim's guesses come from ten addresses it never signed in from: the
            # account-wide limit for strangers is what caps them (its own address block
            # would not), so it is the one set to the allowance checked below.
            "login_account_failures_before_throttle": 5,
            "login_throttle_base_s": 30,
        },
        breaker={"consecutive_failures": 1000, "minimum_throughput": 1000},
    )


async def _mixed_load(
    client: TestClient[Any, Any],
    tally: Tally,
    authed: list[Any],
    n: int,
    victim_email: str,
    login_email: str,
) -> dict[str, list[int]]:
    """``n`` concurrent requests across /me, login, password analysis, role recommendations."""
    by_kind: dict[str, list[int]] = {"victim": [], "login": [], "me": [], "pw": [], "roles": []}

    async def one(i: int) -> None:
        who = authed[i % len(authed)]
        xff = {"X-Forwarded-For": f"198.51.100.{i % 50 + 1}"}
        kind = ("victim", "login", "me", "pw", "roles")[i % 5]
        if kind == "victim":
            body = {"email": victim_email, "password": "wrong-password-123456"}
            call = lambda: client.post("/api/v1/auth/login", json=body, headers=xff)  # noqa: E731
        elif kind == "login":
            body = {"email": login_email, "password": DEFAULT_PASSWORD}
            call = lambda: client.post("/api/v1/auth/login", json=body, headers=xff)  # noqa: E731
        elif kind == "me":
            call = lambda: client.get("/api/v1/me", headers=who.headers)  # noqa: E731
        elif kind == "pw":
            body = {"password": f"Tr0ub4dor&{i}-horse"}
            call = lambda: client.post(  # noqa: E731
                "/api/v1/passwords/analyze", json=body, headers=xff
            )
        else:
            body = {"job_description": f"{JD} #{i % 7}", "limit": 3}
            call = lambda: client.post(  # noqa: E731
                "/api/v1/recommendations/roles", json=body, headers=who.headers
            )
        status, _ = await timed(tally, kind, call)
        by_kind[kind].append(status)

    await asyncio.gather(*(one(i) for i in range(n)))
    return by_kind


async def test_redis_down_under_load_fails_closed_and_recovers(
    make_client: AppFactory, config: Config, redis_proxy: FaultProxy, fake_ai: FakeAI
) -> None:
    await redis_outage_scenario(make_client, config, redis_proxy, fake_ai, outage_s=OUTAGE_S)


async def redis_outage_scenario(
    make_client: AppFactory,
    config: Config,
    redis_proxy: FaultProxy,
    fake_ai: FakeAI,
    *,
    outage_s: float,
    requests: int = 200,
) -> None:
    """Redis refused for ``outage_s``; ``requests`` concurrent requests run at its start;
    when Redis returns everything must recover within 5 s."""
    client = await _app(make_client, config, redis_proxy, fake_ai)
    fake_ai.set(data=_provider_answer(client))
    authed = await users(client, 8)
    victim = await register_user(client)
    login_user = await register_user(client)
    stored = await client.patch(
        "/api/v1/me",
        json={"display_name": "Before Outage", "profile": {"skills": ["Go", "SQL"]}},
        headers=authed[0].headers,
    )
    assert stored.status == 200, await stored.text()
    warm = await client.post(
        "/api/v1/recommendations/roles", json={"job_description": JD}, headers=authed[0].headers
    )
    assert (await warm.json())["source"] == "ai"

    await redis_proxy.down()
    outage_started = time.monotonic()
    tally = Tally()
    async with LagProbe() as lag:
        by_kind = await _mixed_load(
            client, tally, authed, requests, victim.user["email"], login_user.user["email"]
        )
        # Writes during the outage are acknowledged and stored in PostgreSQL.
        during = await client.patch(
            "/api/v1/me", json={"display_name": "During Outage"}, headers=authed[1].headers
        )
        assert during.status == 200, await during.text()
        gateway = client.app[AI_GATEWAY]
        assert gateway.breaker.shared is False  # the in-process breaker decides
    assert not tally.bad, tally.bad
    assert tally.missing_retry_after == 0
    # Login throttling did not fail open: of 40 concurrent wrong passwords on one account,
    # password checks ran one at a time (the others got 429 at once), so at most the
    # policy's allowance was actually checked; and further wrong guesses hit the hold.
    threshold = config.auth.login_failures_before_throttle
    assert by_kind["victim"].count(429) >= 1, by_kind["victim"]
    assert by_kind["victim"].count(401) <= threshold, by_kind["victim"]
    for _ in range(threshold + 1):
        again = await client.post(
            "/api/v1/auth/login",
            json={"email": victim.user["email"], "password": "wrong-password-123456"},
        )
        if again.status == 429:
            break
        assert again.status == 401, await again.text()
    assert again.status == 429, await again.text()
    assert "Retry-After" in again.headers
    assert set(by_kind["login"]) <= {200, 429}, by_kind["login"]
    assert by_kind["login"].count(200) >= 1
    assert set(by_kind["me"]) == {200}, by_kind["me"]
    assert set(by_kind["pw"]) <= {200, 429}
    assert set(by_kind["roles"]) <= {200, 503}
    assert lag.p95() < 0.1, (lag.p95(), lag.max_lag_s)

    # Bring Redis back after the outage window, then everything recovers within 5 s.
    remaining = outage_s - (time.monotonic() - outage_started)
    if remaining > 0:
        await asyncio.sleep(remaining)  # the fault window itself
    await redis_proxy.up()

    async def recovered() -> bool:
        ready = await client.get("/health/ready")
        r = await client.post(
            "/api/v1/recommendations/roles",
            json={"job_description": JD, "limit": 3},
            headers=authed[2].headers,
        )
        body = await r.json()
        return (
            ready.status == 200
            and r.status == 200
            and gateway.breaker.shared
            and (body["source"] in ("ai", "cache"))
        )

    took = await wait_for(recovered, within_s=5.0, every_s=0.1)
    assert took < 5.0
    assert await client.app[REDIS].ping()

    # The victim's throttle went back to Redis counting, and the real user still gets in.
    ok = await client.post(
        "/api/v1/auth/login",
        json={"email": login_user.user["email"], "password": DEFAULT_PASSWORD},
    )
    assert ok.status == 200, await ok.text()

    # No stored data lost: what was acknowledged before and during the outage is stored.
    # (Read from PostgreSQL: GET /me may serve the session cache, which could not be
    # invalidated while Redis was down — see docs/RELIABILITY.md, B7.)
    db = client.app[DB]
    rows = {
        str(r["id"]): r for r in await db.fetch_all("SELECT id, display_name, profile FROM users")
    }
    assert len(rows) == 10
    first, second = rows[authed[0].user["id"]], rows[authed[1].user["id"]]
    assert first["display_name"] == "Before Outage"
    assert first["profile"]["skills"] == ["Go", "SQL"]
    assert second["display_name"] == "During Outage"


async def test_redis_latency_is_bounded_by_socket_timeout(
    make_client: AppFactory, config: Config, redis_proxy: FaultProxy, fake_ai: FakeAI
) -> None:
    client = await _app(
        make_client, config, redis_proxy, fake_ai, socket_timeout_s=0.5, connect_timeout_s=0.5
    )
    fake_ai.set(data=_provider_answer(client))
    authed = await users(client, 4)
    redis_proxy.latency = 2.0
    tally = Tally()
    started = time.monotonic()
    async with LagProbe() as lag:
        await asyncio.gather(
            *(
                timed(
                    tally,
                    "me",
                    lambda who=who: client.get("/api/v1/me", headers=who.headers),
                )
                for who in authed * 5
            ),
            *(
                timed(
                    tally,
                    "roles",
                    lambda i=i: client.post(
                        "/api/v1/recommendations/roles",
                        json={"job_description": f"{JD} {i}", "limit": 2},
                        headers=authed[i % 4].headers,
                    ),
                )
                for i in range(10)
            ),
        )
    elapsed = time.monotonic() - started
    assert not tally.bad, tally.bad
    assert set(tally.statuses) <= {200, 503}, tally.statuses
    assert tally.statuses.get(200, 0) >= 20  # /me never needs Redis to answer
    # Every request is bounded: each Redis call gives up after 0.5 s (+ one retry) and the
    # caller falls back. Known gap (RELIABILITY.md, "Redis slow"): there is no per-request
    # Redis budget, so calls made one after another add up (about 16 s worst case seen with
    # 30 concurrent requests); the bound asserted here is "no hang", not yet "< 3 s".
    assert max(tally.durations) < 25.0, sorted(tally.durations)[-5:]
    assert elapsed < 30.0
    assert lag.p95() < 0.1, (lag.p95(), lag.max_lag_s)
    redis_proxy.heal()
