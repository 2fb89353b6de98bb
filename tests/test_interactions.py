"""POST /api/v1/interactions: validation, storage, the background analysis queue, WS sink."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from handlers.keys import DB, INTERACTION_SINK
from services.analysis_queue import AnalysisQueue
from services.auth_user import AuthUser
from services.errors import ValidationFailed
from tests.activity_helpers import analysed, fetch_all, interact
from tests.helpers import register_user

COURSE_ID = "SELECT id::text FROM courses ORDER BY slug LIMIT 1"


async def _course(client: TestClient[Any, Any]) -> str:
    value = await client.app[DB].fetch_val(COURSE_ID)
    assert value, "the catalog seed should have loaded courses"
    return str(value)


async def test_records_an_interaction(client: TestClient[Any, Any]) -> None:
    who = await register_user(client)
    course = await _course(client)
    body = await interact(
        client, who, "rate", course_id=course, value=4, payload={"comment": "clear"}
    )
    uuid.UUID(body["id"])
    rows = await fetch_all(
        client, "SELECT user_id::text, type, course_id::text, value, payload FROM interactions"
    )
    assert rows == [
        {
            "user_id": who.user["id"],
            "type": "rate",
            "course_id": course,
            "value": 4.0,
            "payload": {"comment": "clear"},
        }
    ]
    await analysed(client)


async def test_search_without_course(client: TestClient[Any, Any]) -> None:
    who = await register_user(client)
    await interact(client, who, "search", payload={"query": "python"})
    await analysed(client)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"type": "dance"}, "type"),
        ({"type": "view", "course_id": "not-a-uuid"}, "course_id"),
        ({"type": "view", "course_id": str(uuid.uuid4())}, "course_id"),
        ({"type": "start"}, "course_id"),
        ({"type": "rate", "value": 6, "course_id": "@course"}, "value"),
        ({"type": "rate", "value": 0, "course_id": "@course"}, "value"),
        ({"type": "quiz_result", "value": 101}, "value"),
        ({"type": "quiz_result", "value": -1}, "value"),
        ({"type": "quiz_result"}, "value"),
        ({"type": "view", "value": -3}, "value"),
        ({"type": "view", "payload": [1, 2]}, "payload"),
        ({"type": "view", "payload": {"blob": "x" * 17_000}}, "payload"),
        ({"type": "view", "extra": 1}, "extra"),
    ],
)
async def test_invalid_bodies_are_422(
    client: TestClient[Any, Any], body: dict[str, Any], field: str
) -> None:
    who = await register_user(client)
    if body.get("course_id") == "@course":
        body = {**body, "course_id": await _course(client)}
    r = await client.post("/api/v1/interactions", json=body, headers=who.headers)
    assert r.status == 422, await r.text()
    problem = await r.json()
    assert field in problem["errors"], problem
    assert await fetch_all(client, "SELECT id FROM interactions") == []


async def test_malformed_json_and_auth(client: TestClient[Any, Any]) -> None:
    who = await register_user(client)
    r = await client.post(
        "/api/v1/interactions",
        data=b"{nope",
        headers={**who.headers, "Content-Type": "application/json"},
    )
    assert r.status == 400, await r.text()
    client.session.cookie_jar.clear()  # registering set the session cookie
    r = await client.post("/api/v1/interactions", json={"type": "view"})
    assert r.status == 401, await r.text()


async def test_websocket_sink_validates_and_stores(client: TestClient[Any, Any]) -> None:
    who = await register_user(client)
    user = AuthUser(
        id=who.user["id"], email=who.user["email"], display_name="", role="user", session_id="s"
    )
    sink = client.app[INTERACTION_SINK]
    answer = await sink(user, {"type": "quiz_result", "value": 77})
    assert uuid.UUID(answer["id"])
    with pytest.raises(ValidationFailed):
        await sink(user, {"type": "quiz_result", "value": 700})
    rows = await fetch_all(client, "SELECT id::text FROM interactions")
    assert rows == [{"id": answer["id"]}]
    await analysed(client)


async def test_queue_coalesces_and_drops_when_full() -> None:
    release = asyncio.Event()
    busy = asyncio.Event()
    started: list[str] = []

    async def analyse(user_id: str) -> None:
        started.append(user_id)
        busy.set()
        await release.wait()

    queue = AnalysisQueue(analyse, maxsize=2, workers=1, timeout_s=5)
    queue.start()
    try:
        assert queue.submit("a")
        async with asyncio.timeout(2):
            await busy.wait()  # the worker took "a" and is now busy with it
        assert queue.submit("b") and queue.submit("b")  # coalesced: queued once
        assert queue.submit("c")
        assert queue.depth == 2
        assert not queue.submit("d")  # full: dropped, counted
        assert queue.dropped == 1
        release.set()
        async with asyncio.timeout(2):
            await queue.join()
        assert started == ["a", "b", "c"]
        assert queue.submit("d")  # the next event of "d" gets its analysis
        async with asyncio.timeout(2):
            await queue.join()
        assert started[-1] == "d"
    finally:
        await queue.stop()


async def test_full_queue_never_loses_interactions(make_client: Any) -> None:
    client = await make_client(activity={"analysis_queue_size": 1, "analysis_workers": 1})
    users = [await register_user(client) for _ in range(3)]
    sent = await asyncio.gather(
        *(interact(client, u, "view", payload={"n": n}) for n in range(5) for u in users)
    )
    await analysed(client)
    stored = await fetch_all(client, "SELECT id::text FROM interactions")
    assert {s["id"] for s in sent} == {r["id"] for r in stored}
    assert len(stored) == 15
