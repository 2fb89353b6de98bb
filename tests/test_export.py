"""GET /api/v1/export: NDJSON lines in order, counts that match, privacy, early disconnect."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from aiohttp.test_utils import TestClient

from handlers.keys import DB
from tests.activity_helpers import BEGINNER_WITH_NEXT, analysed, fetch_all, interact
from tests.helpers import register_user

ORDER = ["profile", "session", "interaction", "recommendation", "learning_path", "task"]

INSERT_RECOMMENDATION = """
INSERT INTO recommendations (user_id, kind, source, inputs, result)
VALUES (%(u)s, 'roles', 'local', '{}'::jsonb, '{"recommendations": []}'::jsonb)
"""
INSERT_PATH = """
INSERT INTO learning_paths (user_id, target_role, timeline_weeks, milestones, skill_gaps, source)
VALUES (%(u)s, '{"title": "Data engineer"}'::jsonb, 12, '[]'::jsonb, '[]'::jsonb, 'local')
"""
INSERT_TASK = """
INSERT INTO tasks (user_id, kind, params) VALUES (%(u)s, 'career_report', '{}'::jsonb)
"""
INSERT_LEARNING_SESSION = "INSERT INTO learning_sessions (user_id, minutes) VALUES (%(u)s, 25)"
MANY_INTERACTIONS = """
INSERT INTO interactions (user_id, type, value, payload)
SELECT %(u)s, 'view', g, jsonb_build_object('n', g) FROM generate_series(1, %(n)s) AS g
"""


async def _lines(client: TestClient[Any, Any], headers: dict[str, str]) -> list[dict[str, Any]]:
    r = await client.get("/api/v1/export", headers=headers)
    assert r.status == 200, await r.text()
    assert r.headers["Content-Type"].startswith("application/x-ndjson")
    disposition = r.headers["Content-Disposition"]
    assert re.fullmatch(
        r'attachment; filename="fluentpro-export-\d{4}-\d{2}-\d{2}\.ndjson"', disposition
    )
    text = await r.text()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


async def test_export_lines_counts_and_privacy(client: TestClient[Any, Any]) -> None:
    me = await register_user(client)
    other = await register_user(client)
    db = client.app[DB]
    course = (await fetch_all(client, BEGINNER_WITH_NEXT))[0]["id"]
    await interact(client, me, "start", course_id=course)
    await interact(client, me, "quiz_result", course_id=course, value=20)  # → adaptive rec
    await interact(client, me, "search", payload={"query": "naïve ünïcode"})
    await interact(client, other, "view", payload={"secret": "other-user-data"})
    for sql in (INSERT_RECOMMENDATION, INSERT_PATH, INSERT_TASK, INSERT_LEARNING_SESSION):
        await db.execute(sql, {"u": me.user["id"]})
        await db.execute(sql, {"u": other.user["id"]})
    await analysed(client)

    lines = await _lines(client, me.headers)
    assert lines[0]["type"] == "profile"
    assert lines[0]["data"]["id"] == me.user["id"]
    assert lines[0]["data"]["email"] == me.user["email"]
    assert "password_hash" not in lines[0]["data"]
    end = lines[-1]
    assert end["type"] == "end"
    body = lines[:-1]
    kinds = [line["type"] for line in body]
    assert kinds == sorted(kinds, key=ORDER.index)  # sections in the documented order
    assert end["counts"] == {k: kinds.count(k) for k in ORDER}
    assert end["counts"] == {
        "profile": 1,
        "session": 2,  # the auth session of the registration, one learning session
        "interaction": 3,
        "recommendation": 2,  # one career, one adaptive (the low quiz)
        "learning_path": 1,
        "task": 1,
    }
    sessions = [line["data"] for line in body if line["type"] == "session"]
    assert {s["kind"] for s in sessions} == {"auth", "learning"}
    assert all("token_hash" not in s for s in sessions)
    origins = {line["data"]["origin"] for line in body if line["type"] == "recommendation"}
    assert origins == {"career", "adaptive"}
    interactions = [line["data"] for line in body if line["type"] == "interaction"]
    assert {i["type"] for i in interactions} == {"start", "quiz_result", "search"}
    assert any(i["payload"] == {"query": "naïve ünïcode"} for i in interactions)
    assert all(i["created_at"].endswith("+00:00") for i in interactions)
    dump = json.dumps(lines)
    assert other.user["id"] not in dump and "other-user-data" not in dump
    assert other.user["email"] not in dump


async def test_export_of_a_new_user(client: TestClient[Any, Any]) -> None:
    me = await register_user(client)
    lines = await _lines(client, me.headers)
    assert [line["type"] for line in lines] == ["profile", "session", "end"]
    client.session.cookie_jar.clear()
    r = await client.get("/api/v1/export")
    assert r.status == 401


async def test_disconnect_mid_export_frees_the_connection(make_client: Any) -> None:
    client = await make_client(activity={"export_batch": 500})
    me = await register_user(client)
    db = client.app[DB]
    await db.execute(MANY_INTERACTIONS, {"u": me.user["id"], "n": 200_000})
    resp = await client.get("/api/v1/export", headers=me.headers)
    assert resp.status == 200
    first = await resp.content.readline()
    assert json.loads(first)["type"] == "profile"
    await resp.content.read(64 * 1024)  # mid-stream: the cursor is open
    assert db.freesize < db.size
    resp.close()  # the client goes away
    async with asyncio.timeout(10):
        await db.wait_idle()
    assert db.freesize == db.size
    open_tx = await db.fetch_val(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND state LIKE 'idle in transaction%%'"
    )
    assert open_tx == 0
