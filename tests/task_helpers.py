"""Helpers of the task tests: read an SSE stream, wait for a task to reach a state."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient

FINAL_EVENTS = ("complete", "failed", "cancelled")

# Common enough words that the local engine finds roles for each description.
DESCRIPTIONS = [
    "Senior backend engineer: Python, PostgreSQL, Redis, asyncio, REST APIs, Docker.",
    "Data analyst with SQL, Excel, Tableau and statistics; dashboards for finance.",
    "Frontend developer: React, TypeScript, CSS, accessibility, design systems.",
    "Machine learning engineer: PyTorch, model training, MLOps, Kubernetes, Python.",
    "Product manager for a B2B SaaS platform: roadmaps, user research, analytics.",
    "DevOps engineer: Terraform, AWS, CI/CD pipelines, monitoring, Linux.",
]


@dataclass
class SseEvent:
    id: str | None
    event: str
    data: Any


async def read_events(
    resp: aiohttp.ClientResponse, *, until_final: bool = True, count: int | None = None
) -> list[SseEvent]:
    """Parse SSE messages until a final event (or ``count`` events, or the stream's end)."""
    events: list[SseEvent] = []
    fields: dict[str, str] = {}
    while True:
        raw = await resp.content.readline(max_line_length=32 * 1024 * 1024)
        if not raw:
            return events
        line = raw.decode().rstrip("\r\n")
        if line == "":
            if "event" in fields or "data" in fields:
                ev = SseEvent(
                    fields.get("id"),
                    fields.get("event", "message"),
                    json.loads(fields["data"]) if "data" in fields else None,
                )
                events.append(ev)
                if until_final and ev.event in FINAL_EVENTS:
                    return events
                if count is not None and len(events) >= count:
                    return events
            fields = {}
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        fields[name] = value[1:] if value.startswith(" ") else value


async def watch(
    client: TestClient[Any, Any],
    task_id: str,
    headers: dict[str, str],
    *,
    within_s: float = 60,
    last_event_id: str | None = None,
) -> list[SseEvent]:
    """Every event of a task's SSE stream up to and including its final event."""
    hdrs = dict(headers)
    if last_event_id:
        hdrs["Last-Event-ID"] = last_event_id
    async with asyncio.timeout(within_s):
        async with client.get(f"/api/v1/tasks/{task_id}/events", headers=hdrs) as resp:
            assert resp.status == 200, await resp.text()
            assert resp.headers["Content-Type"].startswith("text/event-stream")
            events = await read_events(resp)
            # After the final event the server closes the stream.
            assert await resp.content.read() == b""
            return events


def assert_well_formed(events: list[SseEvent], task_id: str) -> SseEvent:
    """Progress events (monotonic) then exactly one final event; returns the final one."""
    assert events, "no events"
    finals = [e for e in events if e.event in FINAL_EVENTS]
    assert len(finals) == 1 and events[-1] is finals[0], [e.event for e in events]
    progress = [e.data["progress"] for e in events if e.event == "progress"]
    assert progress == sorted(progress), progress
    for e in events:
        assert e.data["task_id"] == task_id
        if e.event == "progress":
            assert {"progress", "status", "message", "step", "timestamp"} <= set(e.data)
    return finals[0]


async def create_task(
    client: TestClient[Any, Any], headers: dict[str, str], kind: str, params: dict[str, Any]
) -> dict[str, Any]:
    r = await client.post("/api/v1/tasks", json={"kind": kind, "params": params}, headers=headers)
    assert r.status == 202, await r.text()
    body = await r.json()
    assert body["status"] == "queued"
    assert body["status_url"] == f"/api/v1/tasks/{body['task_id']}"
    assert body["events_url"] == f"/api/v1/tasks/{body['task_id']}/events"
    return body


class GatedCareer:
    """Wraps the real career steps: after ``free`` role matches, each waits for ``gate``.

    Lets a test act (cancel, disconnect, kill) while a task is certainly mid-way.
    """

    def __init__(self, inner: Any, *, free: int) -> None:
        self.inner = inner
        self.free = free
        self.calls = 0
        self.gate = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def recommend_roles(self, description: str, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        if self.calls > self.free:
            async with asyncio.timeout(30):
                await self.gate.wait()
        result: dict[str, Any] = await self.inner.recommend_roles(description, **kwargs)
        return result


async def events_until(
    resp: aiohttp.ClientResponse, predicate: Any, *, within_s: float = 30
) -> list[SseEvent]:
    """Read events until ``predicate(event)`` is true for one of them."""
    got: list[SseEvent] = []
    async with asyncio.timeout(within_s):
        while True:
            batch = await read_events(resp, count=1)
            assert batch, f"stream ended early after {[e.event for e in got]}"
            got.extend(batch)
            if predicate(batch[-1]):
                return got
