"""NDJSON course stream: incremental delivery, limits, prerequisites, errors, disconnects."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from aiohttp.test_utils import TestClient

from handlers.keys import CAREER
from services.career.local_adapter import CareerEngine
from tests.career_helpers import signed_in

STREAM = "/api/v1/recommendations/courses/stream"


class GatedEngine:
    """Wraps the real engine: each course line waits for a permit from the test, and the
    wrapper records how many lines were produced and when its generator closed."""

    def __init__(self, real: CareerEngine, *, fail_at: int | None = None) -> None:
        self.real = real
        self.permits = threading.Semaphore(0)
        self.produced = 0
        self.closed = threading.Event()
        self.fail_at = fail_at

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def recommend_courses(
        self, goal: str, profile: Mapping[str, Any], limit: int
    ) -> Iterator[dict[str, Any]]:
        try:
            for line in self.real.recommend_courses(goal, profile, limit):
                if not self.permits.acquire(timeout=10):
                    return
                if self.fail_at is not None and self.produced + 1 >= self.fail_at:
                    raise RuntimeError("the engine broke")
                self.produced += 1
                yield line
        finally:
            self.closed.set()


def _gate(client: TestClient[Any, Any], **kwargs: Any) -> GatedEngine:
    local = client.app[CAREER].local
    gated = GatedEngine(local.engine, **kwargs)
    local.engine = gated
    return gated


async def _readline(resp: Any) -> dict[str, Any]:
    async with asyncio.timeout(5):
        raw = await resp.content.readline()
    assert raw.endswith(b"\n"), raw
    return json.loads(raw)


async def test_lines_arrive_as_computed(client: TestClient[Any, Any]) -> None:
    user = await signed_in(client, {"skills": ["Python"], "weekly_hours": 4})
    gate = _gate(client)
    gate.permits.release()  # exactly one line may be computed
    params = [("goals", "machine learning engineer"), ("goals", "learn Docker"), ("limit", "12")]
    async with client.get(STREAM, params=params, headers=user.headers) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("application/x-ndjson")
        first = await _readline(resp)
        # The first line reached us while the second could not even be computed yet.
        assert gate.produced == 1 and not resp.content.at_eof()
        for _ in range(100):
            gate.permits.release()
        lines = [first]
        async with asyncio.timeout(10):
            async for raw in resp.content:
                lines.append(json.loads(raw))
    assert 1 < len(lines) <= 12
    assert all("error" not in line for line in lines)
    assert [x["position_in_sequence"] for x in lines] == list(range(1, len(lines) + 1))
    ids = [x["course_recommendation"]["course_id"] for x in lines]
    assert len(set(ids)) == len(ids)
    assert {x["learning_goal"] for x in lines} == {"machine learning engineer", "learn Docker"}
    for line in lines:
        assert 0 <= line["relevance_score"] <= 100
        analysis = line["prerequisite_analysis"]
        assert set(analysis) == {"missing", "recommended", "optional"}
        assert "Python" not in analysis["missing"]  # the user has it
        assert "h/week" in line["estimated_completion_time"]
        assert line["metadata"]["user_skill_level"]
    assert client.app[CAREER].stream_items_produced >= len(lines)


async def test_limit_and_validation(client: TestClient[Any, Any]) -> None:
    user = await signed_in(client)
    params = [("goals", "data analysis"), ("limit", "3")]
    async with client.get(STREAM, params=params, headers=user.headers) as resp:
        assert resp.status == 200
        lines = [json.loads(raw) async for raw in resp.content]
    assert len(lines) == 3
    bad = [
        [("limit", "3")],
        [("goals", "x" * 201)],
        [("goals", "")],
        [("goals", "sql"), ("limit", "0")],
        [("goals", "sql"), ("limit", "101")],
        [("goals", f"goal {i}") for i in range(11)],
        [("goals", "sql\x00")],
    ]
    for params in bad:
        r = await client.get(STREAM, params=params, headers=user.headers)
        assert r.status == 422, params
        assert r.headers["Content-Type"].startswith("application/problem+json")


async def test_error_after_start_is_a_final_line(client: TestClient[Any, Any]) -> None:
    user = await signed_in(client)
    gate = _gate(client, fail_at=3)
    for _ in range(10):
        gate.permits.release()
    params = [("goals", "python programming"), ("limit", "10")]
    async with client.get(STREAM, params=params, headers=user.headers) as resp:
        assert resp.status == 200
        async with asyncio.timeout(10):
            lines = [json.loads(raw) async for raw in resp.content]
    assert len(lines) == 3
    assert all("course_recommendation" in x for x in lines[:2])
    error = lines[-1]["error"]
    assert error["message"] and error["fallback_available"] is False


async def test_disconnect_stops_the_producer(client: TestClient[Any, Any]) -> None:
    user = await signed_in(client)
    gate = _gate(client)
    gate.permits.release()
    params = [("goals", "cloud engineering"), ("goals", "security"), ("limit", "100")]
    resp = await client.get(STREAM, params=params, headers=user.headers)
    assert resp.status == 200
    await _readline(resp)
    resp.close()  # the client goes away mid-stream
    for _ in range(200):
        gate.permits.release()
    # The engine's generator is closed once the handler notices; wait for that event.
    assert await asyncio.to_thread(gate.closed.wait, 10)
    stopped_at = gate.produced
    assert stopped_at < 10, stopped_at
    # Nothing more is produced afterwards (no goal after the first one was started).
    service = client.app[CAREER]
    before = service.stream_items_produced
    await asyncio.to_thread(gate.closed.wait, 0.3)  # already set: returns at once
    assert gate.produced == stopped_at and service.stream_items_produced == before
