"""Accounts: register, login, logout, cookies, revocation, /me, e-mail case, create-admin."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient

from server.config import PROJECT_ROOT, Config
from server.keys import DB
from tests.conftest import TEST_PEPPER, AppFactory
from tests.helpers import DEFAULT_PASSWORD, register_user

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/me"


def origin_of(client: TestClient[Any, Any]) -> str:
    url = client.make_url("/")
    return f"{url.scheme}://{url.host}:{url.port}"


async def test_register_login_me_logout_round_trip(client: TestClient[Any, Any]) -> None:
    r = await client.post(
        REGISTER,
        json={"email": "ada@example.com", "password": DEFAULT_PASSWORD, "display_name": "Ada"},
    )
    assert r.status == 201, await r.text()
    body = await r.json()
    assert set(body) >= {"user", "token", "expires_at"}
    assert body["user"]["email"] == "ada@example.com"
    assert body["user"]["role"] == "user" and body["user"]["profile"] == {}
    assert "password" not in json.dumps(body["user"])
    cookie = r.cookies["fp_session"]
    assert cookie.value == body["token"] and cookie["httponly"] and cookie["samesite"] == "Lax"
    assert cookie["path"] == "/" and not cookie["secure"]  # plain HTTP in tests
    assert int(cookie["max-age"]) == 30 * 24 * 3600

    r = await client.post(LOGIN, json={"email": "ada@example.com", "password": DEFAULT_PASSWORD})
    assert r.status == 200, await r.text()
    login = await r.json()
    assert login["token"] != body["token"] and login["user"]["id"] == body["user"]["id"]
    headers = {"Authorization": f"Bearer {login['token']}"}

    r = await client.get(ME, headers=headers)
    assert r.status == 200, await r.text()
    me = await r.json()
    assert me["id"] == body["user"]["id"] and me["display_name"] == "Ada"
    assert set(me) == {"id", "email", "display_name", "role", "profile", "created_at"}

    r = await client.post(LOGOUT, headers=headers)
    assert r.status == 204, await r.text()
    assert r.cookies["fp_session"].value == ""  # cleared
    r = await client.get(ME, headers=headers)
    assert r.status == 401
    assert r.content_type == "application/problem+json"
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    # The registration token is a separate session and still works.
    r = await client.get(ME, headers={"Authorization": f"Bearer {body['token']}"})
    assert r.status == 200


async def test_me_requires_a_valid_token(client: TestClient[Any, Any]) -> None:
    assert (await client.get(ME)).status == 401
    r = await client.get(ME, headers={"Authorization": "Bearer not-a-real-token"})
    assert r.status == 401
    r = await client.get(ME, headers={"Authorization": "Bearer " + "x" * 5000})
    assert r.status == 401


async def test_cookie_auth_and_same_origin_check(client: TestClient[Any, Any]) -> None:
    authed = await register_user(client)
    client.session.cookie_jar.clear()
    cookies = {"Cookie": f"fp_session={authed.token}"}
    r = await client.get(ME, headers=cookies)
    assert r.status == 200, await r.text()
    assert (await r.json())["id"] == authed.user["id"]

    # A state change authenticated by cookie alone, without a same-origin signal: refused.
    r = await client.patch(ME, json={"display_name": "Mallory"}, headers=cookies)
    assert r.status == 403, await r.text()
    r = await client.post(LOGOUT, headers={**cookies, "Origin": "https://evil.example"})
    assert r.status == 403
    r = await client.post(LOGOUT, headers={**cookies, "Sec-Fetch-Site": "cross-site"})
    assert r.status == 403
    r = await client.get(ME, headers=cookies)
    assert (await r.json())["display_name"] == "Test User"  # nothing changed

    # The same requests from the server's own origin go through.
    own = {**cookies, "Origin": origin_of(client)}
    r = await client.patch(ME, json={"display_name": "Ada"}, headers=own)
    assert r.status == 200, await r.text()
    assert (await r.json())["display_name"] == "Ada"
    r = await client.post(LOGOUT, headers=own)
    assert r.status == 204, await r.text()
    assert (await client.get(ME, headers=cookies)).status == 401


async def test_cookie_from_login_is_used_by_the_browser_flow(client: TestClient[Any, Any]) -> None:
    authed = await register_user(client)
    client.session.cookie_jar.clear()
    r = await client.post(LOGIN, json={"email": authed.user["email"], "password": DEFAULT_PASSWORD})
    assert r.status == 200
    r = await client.get(ME)  # the jar sends fp_session
    assert r.status == 200 and (await r.json())["id"] == authed.user["id"]
    # A stale cross-site cookie never blocks registering or signing in anonymously.
    r = await client.post(LOGIN, json={"email": authed.user["email"], "password": DEFAULT_PASSWORD})
    assert r.status == 200, await r.text()


async def test_logout_is_refused_at_once_by_another_process(
    make_client: AppFactory, redis: aioredis.Redis
) -> None:
    first, second = await make_client(), await make_client()
    authed = await register_user(first)
    r = await second.get(ME, headers=authed.headers)  # the second app now knows the token
    assert r.status == 200, await r.text()

    pubsub = redis.pubsub()
    await pubsub.subscribe("fluentpro:revoked")
    try:
        r = await first.post(LOGOUT, headers=authed.headers)
        assert r.status == 204
        r = await second.get(ME, headers=authed.headers)
        assert r.status == 401, await r.text()
        message = None
        async with asyncio.timeout(5):
            while message is None:
                message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=1)
        notice = json.loads(message["data"])
        assert notice["user_id"] == authed.user["id"] and notice["session_id"]
    finally:
        await pubsub.aclose()


async def test_email_is_case_insensitive(client: TestClient[Any, Any]) -> None:
    await register_user(client, email="Mixed.Case@Example.com")
    r = await client.post(
        LOGIN, json={"email": "MIXED.CASE@EXAMPLE.COM", "password": DEFAULT_PASSWORD}
    )
    assert r.status == 200, await r.text()
    r = await client.post(
        REGISTER, json={"email": "mixed.case@example.COM", "password": DEFAULT_PASSWORD}
    )
    assert r.status == 409, await r.text()
    body = await r.json()
    assert body["status"] == 409 and r.content_type == "application/problem+json"


async def test_register_validation(client: TestClient[Any, Any]) -> None:
    r = await client.post(REGISTER, json={"email": "not-an-email", "password": DEFAULT_PASSWORD})
    assert r.status == 422 and "email" in (await r.json())["errors"]
    r = await client.post(REGISTER, json={"email": "a@example.com"})
    assert r.status == 422 and "password" in (await r.json())["errors"]
    r = await client.post(REGISTER, json={"email": "a@example.com", "password": 5})
    assert r.status == 422
    r = await client.post(REGISTER, data="{oops", headers={"Content-Type": "application/json"})
    assert r.status == 400
    r = await client.post(REGISTER, data="email=a", headers={"Content-Type": "text/plain"})
    assert r.status == 415
    r = await client.post(
        REGISTER, json={"email": "a@example.com", "password": DEFAULT_PASSWORD, "role": "admin"}
    )
    assert r.status == 422 and "role" in (await r.json())["errors"]


async def test_patch_me_updates_and_validates(
    client: TestClient[Any, Any], make_client: AppFactory
) -> None:
    authed = await register_user(client)
    h = authed.headers
    r = await client.patch(
        ME,
        json={
            "display_name": "Grace",
            "profile": {
                "current_role": "Data Analyst",
                "experience_level": "mid",
                "skills": ["sql", "python"],
                "goals": ["become a data engineer"],
                "timezone": "Europe/Berlin",
                "weekly_hours": 6,
            },
        },
        headers=h,
    )
    assert r.status == 200, await r.text()
    me = await r.json()
    assert me["display_name"] == "Grace" and me["profile"]["skills"] == ["sql", "python"]
    r = await client.patch(ME, json={"profile": {"weekly_hours": 8}}, headers=h)
    assert r.status == 200
    me = await r.json()
    assert me["profile"]["weekly_hours"] == 8 and me["profile"]["timezone"] == "Europe/Berlin"
    assert me["display_name"] == "Grace"
    # GET /me (served from the session cache) shows the change at once, on another instance too.
    other = await make_client()
    for c in (client, other):
        r = await c.get(ME, headers=h)
        assert (await r.json())["profile"]["weekly_hours"] == 8
    r = await other.patch(ME, json={"profile": {"weekly_hours": 9}}, headers=h)
    assert r.status == 200
    r = await client.get(ME, headers=h)
    assert (await r.json())["profile"]["weekly_hours"] == 9
    r = await client.patch(ME, json={"profile": {"weekly_hours": 8}}, headers=h)
    assert r.status == 200

    r = await client.patch(
        ME,
        json={
            "display_name": "",
            "profile": {
                "experience_level": "wizard",
                "weekly_hours": 500,
                "timezone": "Mars/Olympus",
                "skills": "sql",
                "favourite": "x",
            },
        },
        headers=h,
    )
    assert r.status == 422, await r.text()
    errors = (await r.json())["errors"]
    assert "display_name" in errors
    for field in ("experience_level", "weekly_hours", "timezone", "skills", "favourite"):
        assert field in errors["profile"], errors
    assert "IANA" in errors["profile"]["timezone"][0]
    r = await client.patch(ME, json=["not", "an", "object"], headers=h)
    assert r.status == 400
    r = await client.get(ME, headers=h)
    assert (await r.json())["profile"]["weekly_hours"] == 8  # the rejected patch changed nothing


async def test_display_name_change_is_seen_by_the_session(client: TestClient[Any, Any]) -> None:
    authed = await register_user(client)
    r = await client.patch(ME, json={"display_name": "Renamed"}, headers=authed.headers)
    assert r.status == 200
    r = await client.get(ME, headers=authed.headers)
    assert (await r.json())["display_name"] == "Renamed"


async def _create_admin(
    config: Config, email: str, password: str, *extra: str
) -> tuple[int, str, str]:
    env = {
        **os.environ,
        "FLUENTPRO_DATABASE_URL": config.database.url,
        "FLUENTPRO_REDIS_URL": config.redis.url,
        "FLUENTPRO_PEPPER": TEST_PEPPER,
        "FLUENTPRO_AUTH_BCRYPT_COST": "4",
        "FLUENTPRO_LOGGING_LEVEL": "WARNING",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server",
        "create-admin",
        email,
        *extra,
        cwd=PROJECT_ROOT,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(60):
        out, err = await proc.communicate((password + "\n").encode())
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_create_admin_command(client: TestClient[Any, Any], config: Config) -> None:
    password = "violet-harbor-engine-sparrow-71"
    code, out, err = await _create_admin(config, "root@example.com", password)
    assert code == 0, out + err
    assert password not in out + err
    r = await client.post(LOGIN, json={"email": "ROOT@example.com", "password": password})
    assert r.status == 200, await r.text()
    assert (await r.json())["user"]["role"] == "admin"
    stored = await client.app[DB].fetch_val(
        "SELECT password_hash FROM users WHERE email = %(e)s", {"e": "root@example.com"}
    )
    assert stored.startswith("fp1$") and password not in stored

    # Promoting an existing user takes --promote-existing and signs it out everywhere.
    authed = await register_user(client, email="promote.me@example.com")
    code, out, err = await _create_admin(config, "promote.me@example.com", DEFAULT_PASSWORD)
    assert code == 1 and "--promote-existing" in err, out + err
    r = await client.get(ME, headers=authed.headers)
    assert (await r.json())["role"] == "user"
    code, out, err = await _create_admin(
        config, "promote.me@example.com", DEFAULT_PASSWORD, "--promote-existing"
    )
    assert code == 0, out + err
    assert "promoted" in out and "1 session(s) revoked" in out
    assert (await client.get(ME, headers=authed.headers)).status == 401
    r = await client.post(
        LOGIN, json={"email": "promote.me@example.com", "password": DEFAULT_PASSWORD}
    )
    assert (await r.json())["user"]["role"] == "admin"

    # A weak password is refused with a clear message and a non-zero status.
    code, out, err = await _create_admin(config, "weak@example.com", "password")
    assert code != 0
    assert "password refused" in err and "common" in err
    assert "Traceback" not in err
