"""The small server pieces the web app needs: role suggestions while typing, the admin
metrics history (ranges, restart markers, gaps) and the admin task table with cancel."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import redis.asyncio as aioredis
from aiohttp.test_utils import TestClient

from handlers.keys import METRICS_HISTORY
from services.metrics_history import SAMPLES_KEY, SUMMARY_KEY, MetricsHistory, bucketed
from tests.conftest import AppFactory
from tests.helpers import make_admin, register_user
from tests.task_helpers import create_task, watch


async def test_role_search_suggests_titles_as_one_types(client: TestClient[Any, Any]) -> None:
    user = await register_user(client)
    r = await client.get("/api/v1/roles", params={"q": "data"}, headers=user.headers)
    assert r.status == 200, await r.text()
    items = (await r.json())["items"]
    assert items, "no role matches 'data'"
    assert all("data" in (i["title"] + i["family"]).lower() for i in items)
    # Titles that start with the text come before those that merely contain it.
    starts = [i["title"].lower().startswith("data") for i in items]
    assert starts == sorted(starts, reverse=True)
    assert {"role_id", "title", "family", "experience_level"} <= set(items[0])

    # The id of a suggestion is what a learning path accepts as its target role.
    r = await client.post(
        "/api/v1/learning-paths", json={"target_role": items[0]["role_id"]}, headers=user.headers
    )
    assert r.status == 201, await r.text()

    r = await client.get("/api/v1/roles", params={"q": "zzqx-nothing"}, headers=user.headers)
    assert (await r.json())["items"] == []
    r = await client.get("/api/v1/roles", params={"limit": "3"}, headers=user.headers)
    assert len((await r.json())["items"]) == 3


async def test_role_search_refuses_bad_input_and_strangers(client: TestClient[Any, Any]) -> None:
    assert (await client.get("/api/v1/roles", params={"q": "data"})).status == 401
    user = await register_user(client)
    r = await client.get("/api/v1/roles", params={"limit": "0"}, headers=user.headers)
    assert r.status == 422 and "limit" in (await r.json())["errors"]
    r = await client.get("/api/v1/roles", params={"q": "x" * 201}, headers=user.headers)
    assert r.status == 422
    r = await client.get("/api/v1/roles", params={"q": "a\x00b"}, headers=user.headers)
    assert r.status == 422


async def test_metrics_history_keeps_samples_and_the_restart(
    make_client: AppFactory, redis: aioredis.Redis
) -> None:
    client = await make_client(monitor={"metrics_interval_s": 0.2})
    user = await register_user(client)
    assert (await client.get("/api/v1/system/history", headers=user.headers)).status == 403
    await make_admin(client, user)

    async with asyncio.timeout(10):
        while True:
            r = await client.get("/api/v1/system/history", headers=user.headers)
            assert r.status == 200, await r.text()
            body = await r.json()
            if len(body["samples"]) >= 2:
                break
            await asyncio.sleep(0.2)
    assert body["range"] == "15m" and body["range_s"] == 900
    sample = body["samples"][-1]
    assert {"at", "lag_p99_ms", "requests_per_s", "connections", "tasks_queued"} <= set(sample)
    assert body["restarts"], "this process's start is a marker"
    assert any(str(x["pid"]) for x in body["restarts"])

    r = await client.get("/api/v1/system/history?range=1h", headers=user.headers)
    assert (await r.json())["range_s"] == 3600
    r = await client.get("/api/v1/system/history?range=1y", headers=user.headers)
    assert r.status == 422 and "range" in (await r.json())["errors"]

    # Retention: a sample older than an hour is gone after the next write.
    history = client.app[METRICS_HISTORY]
    old = int(time.time() * 1000) - 3_700_000
    await redis.zadd(SAMPLES_KEY, {b'{"t":%d,"pid":1}' % old: old})
    await history.record({"loop_lag_ms": {"p99": 1.0}, "requests_per_s": 1.0})
    assert await redis.zcount(SAMPLES_KEY, "-inf", old + 1) == 0


async def test_hour_range_reads_ten_second_summaries(redis: aioredis.Redis) -> None:
    """The hour is served from one summary per process per 10 s (worst lag, mean rate),
    not 3,600 rows per process: reading it stays cheap however many processes run."""
    now = [time.time() // 10 * 10]  # the start of a 10 s slot: seconds 0-24 span 3 slots
    history = MetricsHistory(redis, pid=7, host="h", clock=lambda: now[0])
    for second in range(25):
        lag = 40.0 if second == 3 else 1.0
        await history.record({"loop_lag_ms": {"p99": lag}, "requests_per_s": float(second % 2)})
        now[0] += 1
    fine = await history.read("15m")
    hour = await history.read("1h")
    assert len(fine["samples"]) >= 10  # 2.5 s buckets of one-second rows
    assert len(hour["samples"]) == 2  # the two finished 10 s slots (not the current one)
    assert max(s["lag_p99_ms"] for s in hour["samples"]) == 40.0  # a spike is not averaged away
    assert all(s["requests_per_s"] == 0.5 for s in hour["samples"])
    assert await redis.zcard(SUMMARY_KEY) == 2


def test_history_buckets_leave_gaps_and_add_processes() -> None:
    start = 1_000_000
    rows = [
        {"t": start + 100, "pid": 1, "lag": 5, "rps": 10, "conn": 2, "queued": 1, "running": 0},
        {"t": start + 200, "pid": 2, "lag": 9, "rps": 20, "conn": 3, "queued": 1, "running": 1},
        # nothing for buckets 1..4: the server was down
        {"t": start + 5_100, "pid": 3, "lag": 1, "rps": 4, "conn": 0, "queued": 0, "running": 0},
    ]
    out = bucketed(rows, start, 1000)
    assert len(out) == 2  # the empty buckets are a gap, not zeros
    assert out[0]["lag_p99_ms"] == 9  # the worst process
    assert out[0]["requests_per_s"] == 30  # both processes' traffic
    assert out[0]["connections"] == 5 and out[0]["tasks_running"] == 1


async def test_admin_task_table_lists_and_cancels_any_users_task(
    make_client: AppFactory,
) -> None:
    client = await make_client(tasks={"in_process_worker": False})
    owner = await register_user(client)
    task = await create_task(client, owner.headers, "career_report", {})
    admin = await register_user(client)

    r = await client.get("/api/v1/system/tasks", headers=admin.headers)
    assert r.status == 403
    await make_admin(client, admin)
    r = await client.get("/api/v1/system/tasks?status=queued", headers=admin.headers)
    assert r.status == 200, await r.text()
    rows = (await r.json())["items"]
    assert [x["task_id"] for x in rows] == [task["task_id"]]
    assert rows[0]["user_email"] == owner.user["email"] and rows[0]["status"] == "queued"
    assert "params" not in rows[0] and "result" not in rows[0]

    r = await client.delete(f"/api/v1/system/tasks/{task['task_id']}", headers=admin.headers)
    assert r.status == 202, await r.text()
    assert (await r.json())["status"] == "cancelled"
    events = await watch(client, task["task_id"], owner.headers, within_s=5)
    assert [e.event for e in events] == ["cancelled"]
    r = await client.get("/api/v1/system/tasks?status=queued", headers=admin.headers)
    assert (await r.json())["items"] == []

    r = await client.delete("/api/v1/system/tasks/not-a-uuid", headers=admin.headers)
    assert r.status == 404
    r = await client.get("/api/v1/system/tasks?status=done", headers=admin.headers)
    assert r.status == 422
