"""Authorization matrix: another user's objects are 404 (never 403, never revealed),
admin routes are 403 for users and 401 without credentials, every authenticated route is
401 (with ``WWW-Authenticate: Bearer``) without a token."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp.test_utils import TestClient

from tests.conftest import AppFactory
from tests.helpers import Authed, make_admin, register_user

ZERO = "00000000-0000-0000-0000-000000000000"


def _routes(client: TestClient[Any, Any], *, admin: bool) -> list[tuple[str, str]]:
    """(method, path) of every documented route that needs auth (or admin), ids filled in."""
    found = []
    for route in client.app.router.routes():
        doc = getattr(route.handler, "__api__", None)
        info = route.resource.get_info() if route.resource is not None else {}
        path = info.get("path") or info.get("formatter")
        if doc is None or not doc.auth or path is None or route.method == "HEAD":
            continue
        if admin and not doc.admin:
            continue
        path = path.replace("{id}", ZERO).replace("{task_id}", ZERO).replace("{name}", "ai")
        found.append((route.method, path))
    return found


async def _objects(client: TestClient[Any, Any], a: Authed) -> dict[str, str]:
    path = await client.post(
        "/api/v1/learning-paths", json={"target_role": "Data Engineer"}, headers=a.headers
    )
    assert path.status == 201, await path.text()
    task = await client.post(
        "/api/v1/tasks",
        json={"kind": "batch_role_match", "params": {"job_descriptions": ["SRE"]}},
        headers=a.headers,
    )
    assert task.status == 202, await task.text()
    return {"path": (await path.json())["id"], "task": (await task.json())["task_id"]}


async def test_user_b_gets_404_for_user_a_objects(make_client: AppFactory) -> None:
    client = await make_client(tasks={"in_process_worker": False})
    a, b = await register_user(client), await register_user(client)
    ids = await _objects(client, a)
    checks = [
        ("GET", f"/api/v1/learning-paths/{ids['path']}"),
        ("GET", f"/api/v1/tasks/{ids['task']}"),
        ("DELETE", f"/api/v1/tasks/{ids['task']}"),
        ("GET", f"/api/v1/tasks/{ids['task']}/events"),
    ]
    client.session.cookie_jar.clear()  # only the bearer tokens speak
    for method, path in checks:
        if method == "GET" and not path.endswith("/events"):
            mine = await client.request(method, path, headers=a.headers)
            assert mine.status == 200, (path, await mine.text())
        theirs = await client.request(method, path, headers=b.headers)
        unknown = await client.request(
            method, path.replace(ids["task"], ZERO).replace(ids["path"], ZERO), headers=b.headers
        )
        assert theirs.status == 404, (method, path, await theirs.text())
        assert unknown.status == 404
        body_theirs, body_unknown = await theirs.json(), await unknown.json()
        assert body_theirs["title"] == body_unknown["title"]
        assert body_theirs["detail"] == body_unknown["detail"]  # nothing tells them apart
    # A's task was not cancelled by B's DELETE.
    r = await client.get(f"/api/v1/tasks/{ids['task']}", headers=a.headers)
    assert (await r.json())["status"] != "cancelled"
    # B's lists never show A's objects.
    for path in ("/api/v1/learning-paths", "/api/v1/tasks"):
        items = (await (await client.get(path, headers=b.headers)).json())["items"]
        assert items == [], (path, items)
    # Over WebSocket: subscribing to A's task channel is refused as not found.
    ws = await client.ws_connect("/ws", headers=b.headers)
    try:
        async with asyncio.timeout(5):
            assert (await ws.receive_json())["type"] == "welcome"
            await ws.send_json({"type": "subscribe", "channel": f"tasks:{ids['task']}", "id": 1})
            while True:
                msg = await ws.receive_json()
                if msg.get("id") == 1:
                    break
        assert msg["type"] == "error" and msg["code"] == "not_found", msg
    finally:
        await ws.close()


async def test_admin_routes_401_without_auth_403_for_users(make_client: AppFactory) -> None:
    client = await make_client()
    user = await register_user(client)
    admin = await register_user(client)
    await make_admin(client, admin)
    client.session.cookie_jar.clear()  # registering left a session cookie in the jar
    admin_routes = _routes(client, admin=True)
    assert ("GET", "/api/v1/system/status") in admin_routes
    assert ("GET", "/api/v1/system/stream") in admin_routes
    for method, path in admin_routes:
        anon = await client.request(method, path)
        assert anon.status == 401, (path, await anon.text())
        assert anon.headers.get("WWW-Authenticate", "").startswith("Bearer")
        denied = await client.request(method, path, headers=user.headers)
        assert denied.status == 403, (path, await denied.text())
    r = await client.get("/api/v1/system/status", headers=admin.headers)
    assert r.status == 200, await r.text()


async def test_every_authenticated_route_is_401_without_a_token(make_client: AppFactory) -> None:
    client = await make_client()
    routes = _routes(client, admin=False)
    assert len(routes) >= 15, routes
    for method, path in routes:
        r = await client.request(method, path, json={} if method != "GET" else None)
        assert r.status == 401, (method, path, await r.text())
        assert r.headers.get("WWW-Authenticate", "").startswith("Bearer"), (method, path)
