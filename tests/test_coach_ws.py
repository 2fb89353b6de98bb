"""The built-in coach over a real WebSocket: it answers what was asked, from the user's
profile, learning path and activity, in several deltas, labelled as the built-in coach."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from tests.career_helpers import signed_in
from tests.conftest import AppFactory
from tests.fake_ai import Behaviour, FakeAI
from tests.helpers import Authed

NO_SHEDDING = {"shed_lag_ms": 60_000}
PROFILE = {
    "current_role": "Data Analyst",
    "experience_level": "mid",
    "skills": ["SQL", "Python", "Apache Spark"],
    "weekly_hours": 4,
}


@pytest.fixture
async def client(make_client: AppFactory) -> TestClient[Any, Any]:
    # Load shedding is not under test here: a busy machine must not turn answers into 503s.
    return await make_client(monitor=NO_SHEDDING)


async def _ask(ws: aiohttp.ClientWebSocketResponse, chat_id: str, message: str) -> list[str]:
    """The deltas of one answer; asserts it ends with chat.done from the local engine."""
    await ws.send_json({"type": "chat", "id": chat_id, "message": message})
    deltas: list[str] = []
    async with asyncio.timeout(15):
        while True:
            msg = await ws.receive_json()
            if msg.get("id") != chat_id:
                continue
            if msg["type"] == "chat.delta":
                deltas.append(msg["delta"])
            elif msg["type"] == "chat.done":
                assert msg["source"] == "local", msg
                return deltas
            else:
                raise AssertionError(msg)


async def _open(client: TestClient[Any, Any], user: Authed) -> aiohttp.ClientWebSocketResponse:
    ws = await client.ws_connect("/ws", headers=user.headers)
    assert (await ws.receive_json(timeout=5))["type"] == "welcome"
    return ws


async def test_three_questions_get_three_relevant_answers(client: TestClient[Any, Any]) -> None:
    user = await signed_in(client, PROFILE)
    ws = await _open(client, user)
    next_role = await _ask(ws, "q1", "What role next?")
    spark = await _ask(ws, "q2", "I have 6 h a week and I'm afraid of Spark")
    weather = await _ask(ws, "q3", "Weather in Berlin?")
    await ws.close()

    for deltas in (next_role, spark, weather):
        assert len(deltas) >= 3, deltas  # streamed in pieces, like the AI path
        assert "".join(deltas).startswith("Built-in coach: ")
    answers = ["".join(d) for d in (next_role, spark, weather)]
    assert len(set(answers)) == 3

    assert "Data Engineer" in answers[0] and "/100" in answers[0]
    assert "As a Data Analyst" in answers[0]
    assert "Spark" in answers[1] and "6 h a week" in answers[1]
    assert re.search(r"about \d+ weeks?", answers[1])  # the time it takes at that rate
    assert "I can only help with your career" in answers[2]
    assert "Data Engineer" not in answers[2]


async def test_which_course_next_follows_the_path_and_what_was_finished(
    client: TestClient[Any, Any],
) -> None:
    user = await signed_in(client, PROFILE)
    r = await client.post(
        "/api/v1/learning-paths", json={"target_role": "Data Engineer"}, headers=user.headers
    )
    assert r.status == 201, await r.text()
    path = await r.json()
    courses = [c for m in path["milestones"] for c in m["courses"]]
    assert len(courses) >= 2
    ws = await _open(client, user)
    first = "".join(await _ask(ws, "c1", "Which course should I take next?"))
    assert courses[0]["title"] in first

    r = await client.post(
        "/api/v1/interactions",
        json={"type": "complete", "course_id": courses[0]["course_id"]},
        headers=user.headers,
    )
    assert r.status == 202, await r.text()
    second = "".join(await _ask(ws, "c2", "Which course should I take next?"))
    assert courses[0]["title"] not in second and courses[1]["title"] in second

    gaps = "".join(await _ask(ws, "c3", "What am I missing?"))
    assert "learning path toward Data Engineer" in gaps
    assert f"{path['target_role']['match_score']}/100" in gaps
    await ws.close()


async def test_the_provider_answers_from_the_same_facts(
    make_client: AppFactory, fake_ai: FakeAI
) -> None:
    client = await make_client(ai={"base_url": fake_ai.url}, monitor=NO_SHEDDING)
    user = await signed_in(client, PROFILE)
    fake_ai.set(Behaviour(deltas=["Aim ", "for ", "Data ", "Engineer."]))
    ws = await _open(client, user)
    await ws.send_json({"type": "chat", "id": "p1", "message": "What role next?"})
    deltas: list[str] = []
    async with asyncio.timeout(15):
        while (msg := await ws.receive_json())["type"] != "chat.done":
            if msg["type"] == "chat.delta":
                deltas.append(msg["delta"])
    await ws.close()
    assert msg["source"] == "ai" and "".join(deltas) == "Aim for Data Engineer."
    sent = str(fake_ai.requests[-1])
    # the built-in coach's facts: intent, the next roles with their one score
    assert "next_role" in sent and "Data Engineer" in sent and "match_score" in sent
    assert user.user["email"] not in sent
