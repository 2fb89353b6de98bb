"""The adaptive engine: each rule fires on its pattern, never on a neutral history, never twice
for the same burst; new recommendations reach subscribers on another app instance."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp.test_utils import TestClient

from handlers.keys import DB, EVENT_HUB
from services.events.channels import recommendations_channel
from tests.activity_helpers import (
    ADVANCED_WITH_PREREQUISITES,
    BEGINNER_WITH_NEXT,
    COURSE,
    adaptive,
    analysed,
    fetch_all,
    interact,
)
from tests.helpers import Authed, register_user

BEGINNERS = "SELECT id::text FROM courses WHERE difficulty = 'beginner' ORDER BY slug LIMIT 3"


async def _skip_advanced(client: TestClient[Any, Any], who: Authed) -> list[dict[str, Any]]:
    advanced = await fetch_all(client, ADVANCED_WITH_PREREQUISITES, n=3)
    assert len(advanced) == 3
    for course in advanced:
        await interact(client, who, "skip", course_id=course["id"])
    await analysed(client)
    return advanced


def _check_shape(rec: dict[str, Any]) -> None:
    for key in ("id", "recommendation_type", "content", "trigger_reason", "urgency_level"):
        assert rec[key], rec
    assert rec["expected_impact"]
    assert rec["urgency_level"] in ("low", "medium", "high")
    meta = rec["metadata"]
    assert set(meta) >= {"interaction_id", "analysis_confidence", "timestamp"}
    assert 0 < meta["analysis_confidence"] <= 1


async def test_repeated_advanced_skips_recommend_an_easier_prerequisite(
    client: TestClient[Any, Any],
) -> None:
    who = await register_user(client)
    advanced = await _skip_advanced(client, who)
    recs = await adaptive(client, who)
    assert [r["recommendation_type"] for r in recs] == ["easier_prerequisite"]
    rec = recs[0]
    _check_shape(rec)
    course = (await fetch_all(client, COURSE, id=rec["content"]["course"]["course_id"]))[0]
    assert course["difficulty"] != "advanced"
    wanted = {s for c in advanced for s in c["prerequisites"] + c["skills_taught"]}
    assert set(course["skills_taught"]) & wanted
    skip_ids = {r["id"] for r in await fetch_all(client, "SELECT id::text FROM interactions")}
    assert rec["metadata"]["interaction_id"] in skip_ids

    # The same burst again: no duplicate.
    await _skip_advanced(client, who)
    assert len(await adaptive(client, who)) == 1
    rows = await fetch_all(client, "SELECT count(*) AS n FROM adaptive_recommendations")
    assert rows == [{"n": 1}]


async def test_neutral_history_recommends_nothing(client: TestClient[Any, Any]) -> None:
    who = await register_user(client)
    beginners = [r["id"] for r in await fetch_all(client, BEGINNERS)]
    for cid in beginners:
        await interact(client, who, "view", course_id=cid)
        await interact(client, who, "skip", course_id=cid)  # skipping easy courses is fine
    await interact(client, who, "start", course_id=beginners[0])
    await interact(client, who, "quiz_result", course_id=beginners[0], value=70)
    await interact(client, who, "complete", course_id=beginners[0])
    await interact(client, who, "rate", course_id=beginners[0], value=4)
    await interact(client, who, "search", payload={"query": "python"})
    advanced = await fetch_all(client, ADVANCED_WITH_PREREQUISITES, n=1)
    await interact(client, who, "skip", course_id=advanced[0]["id"])  # once is not a pattern
    await analysed(client)
    assert await adaptive(client, who) == []


async def test_fast_completion_with_high_quiz_recommends_next_level(
    client: TestClient[Any, Any],
) -> None:
    who = await register_user(client)
    course = (await fetch_all(client, BEGINNER_WITH_NEXT))[0]
    await interact(client, who, "start", course_id=course["id"])
    await interact(client, who, "quiz_result", course_id=course["id"], value=95)
    await interact(client, who, "complete", course_id=course["id"])
    await analysed(client)
    recs = await adaptive(client, who)
    assert [r["recommendation_type"] for r in recs] == ["next_level"]
    _check_shape(recs[0])
    nxt = (await fetch_all(client, COURSE, id=recs[0]["content"]["course"]["course_id"]))[0]
    assert nxt["difficulty"] == "intermediate"
    assert set(nxt["skills_taught"]) & set(course["skills_taught"])
    # Another event later does not repeat it.
    await interact(client, who, "view", course_id=course["id"])
    await analysed(client)
    assert len(await adaptive(client, who)) == 1


async def test_slow_completion_is_not_fast_mastery(client: TestClient[Any, Any]) -> None:
    who = await register_user(client)
    course = (await fetch_all(client, BEGINNER_WITH_NEXT))[0]
    await interact(client, who, "start", course_id=course["id"])
    hours = float(course["duration_hours"]) * 3
    await client.app[DB].execute(
        "UPDATE interactions SET created_at = now() - make_interval(secs => %(s)s)",
        {"s": hours * 3600},
    )
    await interact(client, who, "quiz_result", course_id=course["id"], value=95)
    await interact(client, who, "complete", course_id=course["id"])
    await analysed(client)
    assert await adaptive(client, who) == []


async def test_low_quiz_result_recommends_review(client: TestClient[Any, Any]) -> None:
    who = await register_user(client)
    course = (await fetch_all(client, BEGINNER_WITH_NEXT))[0]
    await interact(client, who, "quiz_result", course_id=course["id"], value=30)
    await analysed(client)
    recs = await adaptive(client, who)
    assert [r["recommendation_type"] for r in recs] == ["review_material"]
    _check_shape(recs[0])
    assert recs[0]["content"]["reviewed_course"] == course["id"]
    assert set(recs[0]["content"]["course"]["skills_taught"]) & set(course["skills_taught"])
    await interact(client, who, "quiz_result", course_id=course["id"], value=20)
    await analysed(client)
    assert len(await adaptive(client, who)) == 1  # the same burst: no duplicate


async def test_stalled_goal_gets_a_nudge(client: TestClient[Any, Any]) -> None:
    who = await register_user(client)
    r = await client.patch(
        "/api/v1/me", json={"profile": {"goals": ["learn python"]}}, headers=who.headers
    )
    assert r.status == 200, await r.text()
    r = await client.get("/api/v1/onboarding/progress", headers=who.headers)
    assert r.status == 200, await r.text()
    await analysed(client)
    assert await adaptive(client, who) == []  # a fresh goal is not stalled

    await client.app[DB].execute(
        "UPDATE users SET created_at = now() - interval '8 days' WHERE id = %(id)s",
        {"id": who.user["id"]},
    )
    r = await client.get("/api/v1/onboarding/progress", headers=who.headers)
    assert r.status == 200, await r.text()
    await analysed(client)
    recs = await adaptive(client, who)
    assert [r["recommendation_type"] for r in recs] == ["goal_nudge"]
    assert recs[0]["content"]["goals"] == ["learn python"]
    await interact(client, who, "view")  # checked again on interaction: no duplicate
    await analysed(client)
    assert len(await adaptive(client, who)) == 1


async def test_recent_progress_means_no_nudge(client: TestClient[Any, Any]) -> None:
    who = await register_user(client)
    await client.patch(
        "/api/v1/me", json={"profile": {"goals": ["learn python"]}}, headers=who.headers
    )
    await client.app[DB].execute(
        "UPDATE users SET created_at = now() - interval '30 days' WHERE id = %(id)s",
        {"id": who.user["id"]},
    )
    course = (await fetch_all(client, BEGINNER_WITH_NEXT))[0]
    await interact(client, who, "start", course_id=course["id"])
    await analysed(client)
    assert await adaptive(client, who) == []


async def test_list_is_paginated_and_private(client: TestClient[Any, Any]) -> None:
    who = await register_user(client)
    other = await register_user(client)
    course = (await fetch_all(client, BEGINNER_WITH_NEXT))[0]
    await interact(client, who, "quiz_result", course_id=course["id"], value=10)
    await _skip_advanced(client, who)
    r = await client.get("/api/v1/recommendations/adaptive?limit=1", headers=who.headers)
    page1 = await r.json()
    assert len(page1["items"]) == 1 and page1["next_cursor"]
    r = await client.get(
        "/api/v1/recommendations/adaptive",
        params={"limit": 1, "cursor": page1["next_cursor"]},
        headers=who.headers,
    )
    page2 = await r.json()
    assert len(page2["items"]) == 1 and page2["next_cursor"] is None
    assert page1["items"][0]["id"] != page2["items"][0]["id"]
    assert await adaptive(client, other) == []
    r = await client.get("/api/v1/recommendations/adaptive?cursor=%%%", headers=who.headers)
    assert r.status == 422, await r.text()


async def test_recommendation_reaches_another_instance(make_client: Any) -> None:
    first = await make_client()
    second = await make_client()
    who = await register_user(first)
    sub = await second.app[EVENT_HUB].subscribe(recommendations_channel(who.user["id"]))
    try:
        await _skip_advanced(first, who)
        async with asyncio.timeout(10):
            batch = await sub.next_batch()
        assert [e.event for e in batch] == ["adaptive_recommendation"]
        assert batch[0].data["recommendation_type"] == "easier_prerequisite"
        assert batch[0].data["id"] == (await adaptive(first, who))[0]["id"]
    finally:
        sub.close()


async def _ws_message(ws: Any, type_: str) -> dict[str, Any]:
    """The next WebSocket message of a type (others, e.g. pongs, are skipped)."""
    async with asyncio.timeout(10):
        while True:
            msg = await ws.receive_json()
            if msg["type"] == type_:
                return dict(msg)


async def test_recommendation_reaches_a_websocket_on_another_instance(make_client: Any) -> None:
    first = await make_client()
    second = await make_client()
    who = await register_user(first)
    async with second.ws_connect("/ws", headers=who.headers) as ws:
        await _ws_message(ws, "welcome")
        sub = await _ws_message(ws, "subscribed")
        assert sub["channel"] == "recommendations"
        await _skip_advanced(first, who)  # the interactions land on the first instance
        event = await _ws_message(ws, "event")
        assert event["channel"] == "recommendations"
        assert event["event"] == "adaptive_recommendation"
        assert event["data"]["recommendation_type"] == "easier_prerequisite"
        assert event["data"]["id"] == (await adaptive(first, who))[0]["id"]

        # The WebSocket ``interaction`` message goes through the same sink and validation.
        await ws.send_json({"type": "interaction", "id": "m1", "event": {"type": "view"}})
        ack = await _ws_message(ws, "ack")
        assert ack["id"]
        await ws.send_json(
            {"type": "interaction", "id": "m2", "event": {"type": "rate", "value": 9}}
        )
        error = await _ws_message(ws, "error")
        assert error.get("id") == "m2"
    await analysed(second)
    rows = await fetch_all(first, "SELECT type FROM interactions WHERE type = 'view'")
    assert rows == [{"type": "view"}]
