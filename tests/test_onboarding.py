"""Onboarding progress from real actions, and its SSE stream driven by change events."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient

from handlers.keys import DB
from tests.activity_helpers import BEGINNER_WITH_NEXT, analysed, fetch_all, interact
from tests.helpers import Authed, register_user

PROFILE = {"current_role": "Support engineer", "experience_level": "mid", "skills": ["python"]}


async def _progress(client: TestClient[Any, Any], who: Authed) -> dict[str, Any]:
    r = await client.get("/api/v1/onboarding/progress", headers=who.headers)
    assert r.status == 200, await r.text()
    return dict(await r.json())


def _done(p: dict[str, Any]) -> dict[str, bool]:
    return {s["key"]: s["done"] for s in p["progress_analysis"]["steps"]}


async def _patch(client: TestClient[Any, Any], who: Authed, profile: dict[str, Any]) -> None:
    r = await client.patch("/api/v1/me", json={"profile": profile}, headers=who.headers)
    assert r.status == 200, await r.text()


async def test_steps_follow_real_actions(client: TestClient[Any, Any]) -> None:
    who = await register_user(client)
    p = await _progress(client, who)
    assert not any(_done(p).values())
    assert list(_done(p)) == [
        "profile_completed",
        "goals_set",
        "roles_viewed",
        "learning_path_created",
        "first_course_started",
        "first_course_completed",
    ]
    assert all(s["title"] for s in p["progress_analysis"]["steps"])
    assert p["progress_analysis"]["percent"] == 0
    assert p["next_best_action"]["key"] == "profile_completed"
    assert p["next_best_action"]["reason"]
    assert p["engagement_level"] == "low"
    assert 0 < p["completion_prediction"]["probability"] < 1
    assert p["completion_prediction"]["estimated_completion_date"]

    await _patch(client, who, PROFILE)
    p = await _progress(client, who)
    assert _done(p)["profile_completed"] and p["progress_analysis"]["percent"] == 17
    assert p["next_best_action"]["key"] == "goals_set"

    await _patch(client, who, {"goals": ["become a data engineer"]})
    assert (await _progress(client, who))["progress_analysis"]["percent"] == 33

    r = await client.post(
        "/api/v1/recommendations/roles",
        json={"job_description": "Build data pipelines in Python and SQL"},
        headers=who.headers,
    )
    assert r.status == 200, await r.text()
    p = await _progress(client, who)
    assert _done(p)["roles_viewed"] and p["next_best_action"]["key"] == "learning_path_created"

    role = await client.app[DB].fetch_val("SELECT id::text FROM roles ORDER BY slug LIMIT 1")
    r = await client.post("/api/v1/learning-paths", json={"target_role": role}, headers=who.headers)
    assert r.status == 201, await r.text()
    assert _done(await _progress(client, who))["learning_path_created"]

    course = (await fetch_all(client, BEGINNER_WITH_NEXT))[0]["id"]
    await interact(client, who, "start", course_id=course)
    p = await _progress(client, who)
    assert _done(p)["first_course_started"] and not _done(p)["first_course_completed"]
    assert p["progress_analysis"]["percent"] == 83

    await interact(client, who, "complete", course_id=course)
    p = await _progress(client, who)
    assert all(_done(p).values()) and p["progress_analysis"]["percent"] == 100
    assert p["completion_prediction"]["probability"] == 1.0
    assert p["next_best_action"]["key"] == "keep_learning"
    await analysed(client)


async def test_engagement_follows_recent_interactions(client: TestClient[Any, Any]) -> None:
    who = await register_user(client)
    for _ in range(3):
        await interact(client, who, "search", payload={"query": "sql"})
    assert (await _progress(client, who))["engagement_level"] == "medium"
    for _ in range(12):
        await interact(client, who, "view")
    assert (await _progress(client, who))["engagement_level"] == "high"
    await client.app[DB].execute("UPDATE interactions SET created_at = now() - interval '20 days'")
    assert (await _progress(client, who))["engagement_level"] == "low"
    await analysed(client)


async def test_no_engagement_verdict_before_there_is_engagement(
    client: TestClient[Any, Any],
) -> None:
    who = await register_user(client)
    p = await _progress(client, who)
    assert p["engagement_judged"] is False  # day one: nothing to judge yet
    for _ in range(3):
        await interact(client, who, "view")
    assert (await _progress(client, who))["engagement_judged"] is True

    quiet = await register_user(client)
    await client.app[DB].execute(
        "UPDATE users SET created_at = now() - interval '8 days' WHERE id = %(id)s",
        {"id": quiet.user["id"]},
    )
    p = await _progress(client, quiet)
    assert p["engagement_judged"] is True and p["engagement_level"] == "low"
    await analysed(client)


async def _next_event(resp: ClientResponse) -> tuple[str, dict[str, Any]]:
    """The next SSE message with an ``event:`` (comments and retry-only blocks skipped)."""
    name, data = "", ""
    async with asyncio.timeout(10):
        while True:
            raw = await resp.content.readline()
            assert raw, "stream ended"
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
            elif line == "" and name:
                return name, json.loads(data)


async def test_stream_sends_progress_now_and_after_changes(make_client: Any) -> None:
    interval = 0.5
    client = await make_client(activity={"progress_min_interval_s": interval})
    who = await register_user(client)
    loop = asyncio.get_running_loop()
    async with client.get("/api/v1/onboarding/progress/stream", headers=who.headers) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        name, first = await _next_event(resp)
        assert name == "progress" and first["progress_analysis"]["percent"] == 0

        await _patch(client, who, PROFILE)  # a profile change → a new analysis
        name, second = await _next_event(resp)
        t_second = loop.time()
        assert name == "progress" and _done(second)["profile_completed"]

        # A burst of changes is folded into one analysis, no sooner than the interval.
        course = (await fetch_all(client, BEGINNER_WITH_NEXT))[0]["id"]
        await interact(client, who, "start", course_id=course)
        await _patch(client, who, {"goals": ["ship a data platform"]})
        await interact(client, who, "complete", course_id=course)
        _, third = await _next_event(resp)
        assert loop.time() - t_second >= interval * 0.9
        if not _done(third)["first_course_completed"]:  # the burst straddled an analysis
            _, third = await _next_event(resp)
        done = _done(third)
        assert done["goals_set"] and done["first_course_started"]
        assert done["first_course_completed"]
    await analysed(client)


async def test_other_users_changes_do_not_reach_my_stream(make_client: Any) -> None:
    client = await make_client(activity={"progress_min_interval_s": 0.1})
    me, other = await register_user(client), await register_user(client)
    async with client.get("/api/v1/onboarding/progress/stream", headers=me.headers) as resp:
        await _next_event(resp)
        await _patch(client, other, PROFILE)
        await _patch(client, me, {"goals": ["mine"]})
        _, p = await _next_event(resp)
        assert _done(p)["goals_set"] and not _done(p)["profile_completed"]
    await analysed(client)
