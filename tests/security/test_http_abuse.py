"""Bad input at the HTTP layer: sizes, content types, header injection, path traversal,
SQL metacharacters stored verbatim, cross-origin WebSocket, tokens in URLs."""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import WSServerHandshakeError

from server import routes
from tests.conftest import AppFactory
from tests.helpers import register_user

SQLISH = ["'; DROP TABLE users; --", "100%", "snake_case_", "back\\slash", "O'Brien \" ;--%_\\"]


async def _raw(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        async with asyncio.timeout(10):
            return await reader.read(65536)
    finally:
        writer.close()


async def test_oversized_body_413_and_wrong_content_type_415(make_client: AppFactory) -> None:
    client = await make_client()
    who = await register_user(client)
    big = b'{"display_name": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    r = await client.patch(
        "/api/v1/me", data=big, headers={**who.headers, "Content-Type": "application/json"}
    )
    assert r.status == 413, await r.text()
    assert r.content_type == "application/problem+json"
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
        r = await client.patch(
            "/api/v1/me",
            data=b'{"display_name": "x"}',
            headers={**who.headers, "Content-Type": ctype},
        )
        assert r.status == 415, (ctype, await r.text())
        assert (await r.json())["status"] == 415
    r = await client.post(
        "/api/v1/auth/login",
        data=b"email=a&password=b",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status == 415


async def test_header_injection_is_refused_not_echoed(make_client: AppFactory) -> None:
    client = await make_client()
    port = client.server.port
    assert port is not None
    # A valid id is echoed; a forged one with separators is replaced by a generated id.
    r = await client.get("/health/live", headers={"X-Request-ID": "abc-123"})
    assert r.headers["X-Request-ID"] == "abc-123"
    for forged in ("abc%0d%0aSet-Cookie:%20x=1", "abc\tdef", "a" * 300, "<script>"):
        r = await client.get("/health/live", headers={"X-Request-ID": forged})
        assert r.headers["X-Request-ID"] != forged
        assert "x=1" not in r.headers.get("Set-Cookie", "")
    # Raw CR or LF inside a header value never reaches a response header.
    for raw in (
        b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Request-ID: abc\rSet-Cookie: evil=1\r\n\r\n",
        b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Request-ID: abc\nSet-Cookie: evil=1\r\n\r\n",
        b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Request-ID: a\x00b\r\n\r\n",
    ):
        answer = await _raw(port, raw)
        head = answer.split(b"\r\n\r\n", 1)[0].lower()
        assert b"evil" not in head, answer[:400]
        status = int(answer.split(b" ", 2)[1])
        assert status in (200, 400), answer[:200]
        if status == 200:
            assert b"x-request-id: abc\r" not in head


@pytest.fixture
def planted_static(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary copy of static/ with symlinks planted that point outside it."""
    copy = tmp_path / "static"
    shutil.copytree(routes.STATIC_DIR, copy)
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    os.symlink(secret, copy / "leak.txt")
    os.symlink(tmp_path, copy / "updir")
    monkeypatch.setattr(routes, "STATIC_DIR", copy)
    return copy


async def test_static_path_traversal_and_symlinks_refused(
    make_client: AppFactory, planted_static: Path
) -> None:
    client = await make_client()
    port = client.server.port
    assert port is not None
    r = await client.get("/static/favicon.svg")
    assert r.status == 200
    for path in (
        "/static/../server/config.py",
        "/static/%2e%2e/server/config.py",
        "/static/%2e%2e%2fserver%2fconfig.py",
        "/static/..%2f..%2fetc%2fpasswd",
        "/static/%252e%252e/%252e%252e/etc/passwd",
        "/static/..\\..\\server\\config.py",
        "/static/css/../../secret.txt",
        "/static/leak.txt",
        "/static/updir/secret.txt",
        "/static//etc/passwd",
        "/static/%00",
    ):
        answer = await _raw(port, f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        status = int(answer.split(b" ", 2)[1])
        assert status in (400, 403, 404), (path, answer[:300])
        assert b"TOP-SECRET" not in answer and b"root:" not in answer
        assert b"dataclass" not in answer, path


async def test_sql_metacharacters_stored_and_returned_verbatim(make_client: AppFactory) -> None:
    client = await make_client(tasks={"in_process_worker": False})
    who = await register_user(client, display_name=SQLISH[0])
    assert who.user["display_name"] == SQLISH[0]
    profile = {
        "current_role": SQLISH[4],
        "skills": SQLISH,
        "goals": [s + " goal" for s in SQLISH],
    }
    r = await client.patch(
        "/api/v1/me", json={"display_name": SQLISH[4], "profile": profile}, headers=who.headers
    )
    assert r.status == 200, await r.text()
    me = await (await client.get("/api/v1/me", headers=who.headers)).json()
    assert me["display_name"] == SQLISH[4]
    for key, value in profile.items():
        assert me["profile"][key] == value, (key, me["profile"][key])

    payload = {s: s for s in SQLISH}
    r = await client.post(
        "/api/v1/interactions", json={"type": "search", "payload": payload}, headers=who.headers
    )
    assert r.status == 202, await r.text()
    for q in SQLISH:  # search parameters with LIKE metacharacters are answered, never 500
        r = await client.get("/api/v1/courses", params={"q": q}, headers=who.headers)
        assert r.status == 200, (q, await r.text())
        r = await client.post(
            "/api/v1/recommendations/roles", json={"job_description": q}, headers=who.headers
        )
        assert r.status in (200, 422), (q, await r.text())
        r = await client.post(
            "/api/v1/learning-paths", json={"target_role": q}, headers=who.headers
        )
        assert r.status in (201, 404, 422), (q, await r.text())
    r = await client.post(
        "/api/v1/tasks",
        json={"kind": "batch_role_match", "params": {"job_descriptions": SQLISH}},
        headers=who.headers,
    )
    assert r.status == 202, await r.text()

    export = await client.get("/api/v1/export", headers=who.headers)
    assert export.status == 200
    lines = [orjson.loads(line) for line in (await export.read()).splitlines() if line]
    interactions = [x for x in lines if x["type"] == "interaction"]
    assert any(
        x.get("payload") == payload or x.get("data", {}).get("payload") == payload
        for x in interactions
    ), interactions[:2]
    profile_line: dict[str, Any] = lines[0]
    assert profile_line["type"] == "profile"
    assert profile_line["data"]["display_name"] == SQLISH[4]
    # The users table is still there and holds exactly our user.
    count = await (await client.get("/api/v1/me", headers=who.headers)).json()
    assert count["id"] == who.user["id"]


async def test_cross_origin_websocket_and_token_in_query_refused(make_client: AppFactory) -> None:
    client = await make_client()
    who = await register_user(client)
    with pytest.raises(WSServerHandshakeError) as info:
        await client.ws_connect("/ws", headers={**who.headers, "Origin": "https://evil.example"})
    assert info.value.status == 403
    ok = await client.ws_connect("/ws", headers={**who.headers, "Origin": "http://127.0.0.1:8080"})
    assert (await ok.receive_json())["type"] == "welcome"
    await ok.close()

    for path in (
        f"/api/v1/me?access_token={who.token}",
        f"/api/v1/me?token={who.token}",
        f"/api/v1/onboarding/progress/stream?access_token={who.token}",
    ):
        r = await client.get(path)
        assert r.status == 401, (path, await r.text())
        assert who.token not in await r.text()
    with pytest.raises(WSServerHandshakeError) as info:
        await client.ws_connect(f"/ws?token={who.token}")
    assert info.value.status == 401
