"""The account lifecycle (API.md "Accounts"): change the password, list and revoke sessions,
delete the account — through the real server, PostgreSQL and Redis."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg2
from aiohttp.test_utils import TestClient

from server.keys import EVENT_BUS
from services.events.bus import stream_key
from tests.conftest import USER_TABLES, AppFactory
from tests.helpers import DEFAULT_PASSWORD, Authed, register_user
from tests.test_ws import closed_code, connect

LOGIN = "/api/v1/auth/login"
NEW_PASSWORD = "velvet-harbor-quartz-tundra-77"


async def login(client: TestClient[Any, Any], email: str, password: str, ua: str = "") -> Any:
    return await client.post(
        LOGIN, json={"email": email, "password": password}, headers={"User-Agent": ua}
    )


async def second_session(client: TestClient[Any, Any], who: Authed, ua: str = "phone") -> Authed:
    r = await login(client, who.user["email"], DEFAULT_PASSWORD, ua)
    assert r.status == 200, await r.text()
    token = (await r.json())["token"]
    return Authed(token, who.user, {"Authorization": f"Bearer {token}"})


async def test_change_password_revokes_other_sessions(make_client: AppFactory) -> None:
    client = await make_client()
    who = await register_user(client)
    other = await second_session(client, who)
    async with connect(client, other) as ws:
        r = await client.post(
            "/api/v1/me/password",
            json={"current_password": "not-the-password-at-all", "new_password": NEW_PASSWORD},
            headers=who.headers,
        )
        assert r.status == 401, await r.text()
        r = await client.post(
            "/api/v1/me/password",
            json={"current_password": DEFAULT_PASSWORD, "new_password": "password123"},
            headers=who.headers,
        )
        assert r.status == 422, await r.text()
        assert (await r.json())["errors"]["new_password"]
        r = await client.post(
            "/api/v1/me/password",
            json={"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
            headers=who.headers,
        )
        assert r.status == 204, await r.text()
        assert await closed_code(ws) == 1008  # the other session's socket is closed
    assert (await client.get("/api/v1/me", headers=other.headers)).status == 401
    assert (await client.get("/api/v1/me", headers=who.headers)).status == 200
    assert (await login(client, who.user["email"], DEFAULT_PASSWORD)).status == 401
    assert (await login(client, who.user["email"], NEW_PASSWORD)).status == 200


async def test_sessions_list_and_revoke_one_and_others(make_client: AppFactory) -> None:
    client = await make_client()
    who = await register_user(client)
    phone = await second_session(client, who, "phone")
    tablet = await second_session(client, who, "tablet")
    stranger = await register_user(client)

    r = await client.get("/api/v1/me/sessions", headers=who.headers)
    assert r.status == 200, await r.text()
    items = (await r.json())["items"]
    assert len(items) == 3
    assert [i["current"] for i in items].count(True) == 1
    assert {i["user_agent"] for i in items} >= {"phone", "tablet"}
    for item in items:
        assert set(item) == {"id", "created_at", "last_seen_at", "user_agent", "current"}
        assert item["id"] not in (who.token, phone.token, tablet.token)
    phone_id = next(i["id"] for i in items if i["user_agent"] == "phone")

    # Not yours, not a session, not an id: 404 alike.
    for bad in (phone_id, str(uuid.uuid4()), "not-a-uuid"):
        r = await client.delete(f"/api/v1/me/sessions/{bad}", headers=stranger.headers)
        assert r.status == 404, await r.text()
    assert (await client.get("/api/v1/me", headers=phone.headers)).status == 200

    r = await client.delete(f"/api/v1/me/sessions/{phone_id}", headers=who.headers)
    assert r.status == 204, await r.text()
    assert (await client.get("/api/v1/me", headers=phone.headers)).status == 401
    assert (await client.get("/api/v1/me", headers=tablet.headers)).status == 200

    r = await client.delete("/api/v1/me/sessions", headers=who.headers)
    assert r.status == 204, await r.text()
    assert (await client.get("/api/v1/me", headers=tablet.headers)).status == 401
    r = await client.get("/api/v1/me/sessions", headers=who.headers)
    assert [i["current"] for i in (await r.json())["items"]] == [True]


async def test_delete_account_erases_every_row_and_stream(
    make_client: AppFactory, database_url: str
) -> None:
    client = await make_client()
    who = await register_user(client)
    keep = await register_user(client)
    other = await second_session(client, who)
    uid = who.user["id"]
    r = await client.post("/api/v1/interactions", json={"type": "search"}, headers=who.headers)
    assert r.status == 202, await r.text()
    r = await client.post(
        "/api/v1/learning-paths", json={"target_role": "Data Engineer"}, headers=who.headers
    )
    assert r.status == 201, await r.text()
    r = await client.post(
        "/api/v1/recommendations/roles",
        json={"job_description": "Build data pipelines in Python and SQL"},
        headers=who.headers,
    )
    assert r.status == 200, await r.text()
    bus = client.app[EVENT_BUS]
    channel = f"user:{uid}:recommendations"
    await bus.publish(channel, "test", {"n": 1})
    redis = client.app[EVENT_BUS]._redis
    assert await redis.exists(stream_key(channel))

    async with connect(client, other) as ws:
        r = await client.delete(
            "/api/v1/me", json={"password": "wrong-wrong-wrong"}, headers=who.headers
        )
        assert r.status == 401, await r.text()
        r = await client.delete(
            "/api/v1/me", json={"password": DEFAULT_PASSWORD}, headers=who.headers
        )
        assert r.status == 204, await r.text()
        assert await closed_code(ws) == 1008

    for authed in (who, other):
        assert (await client.get("/api/v1/me", headers=authed.headers)).status == 401
    assert (await login(client, who.user["email"], DEFAULT_PASSWORD)).status == 401
    assert not await redis.exists(stream_key(channel))
    conn = psycopg2.connect(database_url)
    try:
        with conn.cursor() as cur:
            for table in USER_TABLES:
                column = "id" if table == "users" else "user_id"
                cur.execute(f"SELECT count(*) FROM {table} WHERE {column} = %s", (uid,))
                assert cur.fetchone()[0] == 0, table
            cur.execute("SELECT count(*) FROM users WHERE id = %s", (keep.user["id"],))
            assert cur.fetchone()[0] == 1
    finally:
        conn.close()
    assert (await client.get("/api/v1/me", headers=keep.headers)).status == 200


async def test_password_routes_are_throttled_like_login(make_client: AppFactory) -> None:
    client = await make_client(
        auth={"login_failures_before_throttle": 3, "login_throttle_base_s": 30.0}
    )
    who = await register_user(client)
    statuses = []
    for _ in range(5):
        r = await client.post(
            "/api/v1/me/password",
            json={"current_password": "guess-guess-guess-1", "new_password": NEW_PASSWORD},
            headers=who.headers,
        )
        statuses.append(r.status)
    assert statuses[:3] == [401, 401, 401], statuses
    assert statuses[3:] == [429, 429], statuses
    r = await client.delete("/api/v1/me", json={"password": DEFAULT_PASSWORD}, headers=who.headers)
    assert r.status == 429 and "Retry-After" in r.headers


async def test_lifecycle_routes_are_in_the_openapi_document(make_client: AppFactory) -> None:
    client = await make_client()
    doc = await (await client.get("/api/openapi.json")).json()
    paths = doc["paths"]
    assert "post" in paths["/api/v1/me/password"]
    assert {"get", "delete"} <= set(paths["/api/v1/me/sessions"])
    assert "delete" in paths["/api/v1/me/sessions/{id}"]
    assert {"get", "patch", "delete"} <= set(paths["/api/v1/me"])


async def test_lifecycle_needs_auth_and_same_origin_for_cookies(make_client: AppFactory) -> None:
    client = await make_client()
    who = await register_user(client)
    client.session.cookie_jar.clear()
    assert (await client.get("/api/v1/me/sessions")).status == 401
    r = await client.delete(
        "/api/v1/me",
        json={"password": DEFAULT_PASSWORD},
        headers={"Cookie": f"fp_session={who.token}", "Origin": "https://evil.example"},
    )
    assert r.status == 403, await r.text()
    assert (await client.get("/api/v1/me", headers=who.headers)).status == 200
