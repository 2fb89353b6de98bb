"""Operators' circuit-breaker API and the `breaker` events on the system channel."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from handlers.keys import EVENT_BUS
from tests.helpers import make_admin, register_user


async def test_breakers_admin_only(client: TestClient[Any, Any]) -> None:
    assert (await client.get("/api/v1/system/breakers")).status == 401
    user = await register_user(client)
    r = await client.get("/api/v1/system/breakers", headers=user.headers)
    assert r.status == 403, await r.text()
    r = await client.post("/api/v1/system/breakers/ai/isolate", headers=user.headers)
    assert r.status == 403


async def test_isolate_and_reset_publish_transitions(client: TestClient[Any, Any]) -> None:
    admin = await register_user(client)
    await make_admin(client, admin)
    r = await client.get("/api/v1/system/breakers", headers=admin.headers)
    assert r.status == 200, await r.text()
    items = (await r.json())["items"]
    assert [b["name"] for b in items] == ["ai"]
    assert items[0]["state"] == "closed" and items[0]["shared"] is True

    app = client.server.app
    assert app is not None
    bus = app[EVENT_BUS]
    before = (await bus.read_after("system", "0-0")).events

    r = await client.post("/api/v1/system/breakers/ai/isolate", headers=admin.headers)
    assert r.status == 200, await r.text()
    assert (await r.json())["state"] == "isolated"
    r = await client.get("/api/v1/system/breakers", headers=admin.headers)
    assert (await r.json())["items"][0]["state"] == "isolated"

    r = await client.post("/api/v1/system/breakers/ai/reset", headers=admin.headers)
    assert r.status == 200
    assert (await r.json())["state"] == "closed"

    after = (await bus.read_after("system", "0-0")).events
    changes = [e.data for e in after[len(before) :] if e.event == "breaker"]
    assert [(c["previous"], c["state"]) for c in changes] == [
        ("closed", "isolated"),
        ("isolated", "closed"),
    ]

    r = await client.post("/api/v1/system/breakers/nope/reset", headers=admin.headers)
    assert r.status == 404
