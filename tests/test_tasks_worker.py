"""The task worker: retries with backoff, timeouts, bounded batches, the stalled-job
sweeper, and a worker process killed with SIGKILL mid-job."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from db.jobs import make_connector
from handlers.keys import DB, EVENT_BUS, TASK_WORKER
from services.errors import Unavailable
from services.tasks.runner import TaskRunner
from services.tasks.store import TaskStore
from services.tasks.worker import TaskWorker
from tests.conftest import AppFactory
from tests.helpers import register_user
from tests.processes import free_port, server_env, start
from tests.task_helpers import (
    DESCRIPTIONS,
    GatedCareer,
    assert_well_formed,
    create_task,
    events_until,
    read_events,
    watch,
)


class FlakyCareer:
    """The real career steps, but the first ``failures`` role matches raise Unavailable."""

    def __init__(self, inner: Any, failures: int) -> None:
        self.inner = inner
        self.failures = failures

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def recommend_roles(self, description: str, **kwargs: Any) -> dict[str, Any]:
        if self.failures > 0:
            self.failures -= 1
            raise Unavailable("The AI provider is briefly unavailable.")
        result: dict[str, Any] = await self.inner.recommend_roles(description, **kwargs)
        return result


class CountingCareer:
    """Counts concurrent role matches; a description containing BOOM fails."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.active = 0
        self.max_active = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def recommend_roles(self, description: str, **kwargs: Any) -> dict[str, Any]:
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            await asyncio.sleep(0.01)  # simulated provider latency, so calls overlap
            if "BOOM" in description:
                raise ValueError("the engine choked on this one")
            result: dict[str, Any] = await self.inner.recommend_roles(description, **kwargs)
            return result
        finally:
            self.active -= 1


class NeverCareer:
    """Role matches that never finish (the per-task timeout must end the task)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def recommend_roles(self, description: str, **kwargs: Any) -> dict[str, Any]:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


def _swap_career(client: TestClient[Any, Any], make: Any) -> Any:
    runner = client.app[TASK_WORKER].runner
    runner.career = make(runner.career)
    return runner.career


async def test_transient_failure_is_retried_with_backoff(make_client: AppFactory) -> None:
    client = await make_client(tasks={"retry_backoff_s": 0, "stalled_after_s": 1})
    _swap_career(client, lambda inner: FlakyCareer(inner, failures=1))
    user = await register_user(client)
    task = await create_task(client, user.headers, "career_report", {})
    events = await watch(client, task["task_id"], user.headers)
    final = assert_well_formed(events, task["task_id"])
    assert final.event == "complete", final.data
    requeued = [e for e in events if e.event == "progress" and e.data["status"] == "queued"]
    assert requeued and "retrying" in requeued[0].data["message"]
    stored = await (await client.get(task["status_url"], headers=user.headers)).json()
    assert stored["attempts"] == 2 and stored["status"] == "succeeded"


async def test_retries_spent_fail_the_task(make_client: AppFactory) -> None:
    client = await make_client(tasks={"retry_backoff_s": 0, "max_retries": 1, "stalled_after_s": 1})
    _swap_career(client, lambda inner: FlakyCareer(inner, failures=10))
    user = await register_user(client)
    task = await create_task(client, user.headers, "career_report", {})
    final = assert_well_formed(await watch(client, task["task_id"], user.headers), task["task_id"])
    assert final.event == "failed"
    assert final.data["error"]["code"] == "dependency_unavailable"
    stored = await (await client.get(task["status_url"], headers=user.headers)).json()
    assert stored["attempts"] == 2 and stored["error"] == final.data["error"]


async def test_per_task_timeout(make_client: AppFactory) -> None:
    client = await make_client(tasks={"timeout_s": 1})
    _swap_career(client, NeverCareer)
    user = await register_user(client)
    task = await create_task(client, user.headers, "career_report", {})
    started = time.monotonic()
    final = assert_well_formed(await watch(client, task["task_id"], user.headers), task["task_id"])
    assert final.event == "failed" and final.data["error"]["code"] == "timeout"
    assert time.monotonic() - started < 10


async def test_batch_is_bounded_and_one_bad_item_is_an_error_entry(
    make_client: AppFactory,
) -> None:
    client = await make_client(tasks={"batch_concurrency": 3})
    career = _swap_career(client, CountingCareer)
    user = await register_user(client)
    descriptions = DESCRIPTIONS * 2
    descriptions[4] = "BOOM " + descriptions[4]
    task = await create_task(
        client, user.headers, "batch_role_match", {"job_descriptions": descriptions}
    )
    final = assert_well_formed(await watch(client, task["task_id"], user.headers), task["task_id"])
    assert final.event == "complete", final.data
    result = final.data["result"]
    assert career.max_active == 3  # bounded by batch_concurrency, and actually concurrent
    assert result["failed"] == 1 and result["succeeded"] == len(descriptions) - 1
    items = result["results"]
    assert [i["index"] for i in items] == list(range(len(descriptions)))
    assert items[4]["error"]["code"] == "item_failed" and "recommendations" not in items[4]
    assert all("recommendations" in i for n, i in enumerate(items) if n != 4)


async def _dead_worker_job(client: TestClient[Any, Any], task_id: str, attempts: int) -> int:
    """Make the task's job look taken by a worker that stopped heartbeating an hour ago."""
    db = client.app[DB]
    worker_id = await db.fetch_val(
        "INSERT INTO procrastinate_workers (last_heartbeat) VALUES (now() - interval '1 hour') "
        "RETURNING id"
    )
    job_id = await db.fetch_val(
        "UPDATE procrastinate_jobs j SET status = 'doing', worker_id = %(w)s, attempts = %(a)s "
        "FROM tasks t WHERE t.id = %(t)s AND j.id = t.job_id RETURNING j.id",
        {"w": worker_id, "a": attempts, "t": task_id},
    )
    await db.execute(
        "UPDATE tasks SET status = 'running', attempts = 1, progress = 40 WHERE id = %(t)s",
        {"t": task_id},
    )
    return int(job_id)


def _sweeper(client: TestClient[Any, Any], max_retries: int) -> TaskWorker:
    app = client.app
    db = app[DB]
    store = TaskStore(db, app[EVENT_BUS])
    runner = TaskRunner(store, career=None, timeout_s=5, batch_concurrency=1)  # type: ignore[arg-type]
    return TaskWorker(
        connector=make_connector(db.settings),
        runner=runner,
        store=store,
        db=db,
        concurrency=1,
        stalled_after_s=5,
        max_retries=max_retries,
        retry_backoff_s=0,
        shutdown_grace_s=1,
    )


async def test_sweeper_retries_or_fails_stalled_jobs(make_client: AppFactory) -> None:
    client = await make_client(tasks={"in_process_worker": False})
    user = await register_user(client)
    retried = await create_task(client, user.headers, "career_report", {})
    spent = await create_task(client, user.headers, "career_report", {})
    lost = await create_task(client, user.headers, "career_report", {})
    job_retried = await _dead_worker_job(client, retried["task_id"], attempts=0)
    await _dead_worker_job(client, spent["task_id"], attempts=2)
    db = client.app[DB]
    # A running task whose job vanished (deleted by hand) and that has not moved for a while.
    await db.execute(
        "DELETE FROM procrastinate_jobs WHERE id = (SELECT job_id FROM tasks WHERE id = %(t)s)",
        {"t": lost["task_id"]},
    )
    await db.execute(
        "UPDATE tasks SET status = 'running', updated_at = now() - interval '1 hour' "
        "WHERE id = %(t)s",
        {"t": lost["task_id"]},
    )
    sweeper = _sweeper(client, max_retries=2)
    await sweeper.app.open_async()
    try:
        assert await sweeper.sweep() == 3
        assert await sweeper.sweep() == 0  # nothing left to move
    finally:
        await sweeper.app.close_async()

    async def status(task: dict[str, Any]) -> dict[str, Any]:
        r = await client.get(task["status_url"], headers=user.headers)
        return dict(await r.json())

    again = await status(retried)
    assert again["status"] == "queued" and again["progress"] == 40
    job = await db.fetch_one(
        "SELECT status::text AS status, attempts FROM procrastinate_jobs WHERE id = %(j)s",
        {"j": job_retried},
    )
    assert job == {"status": "todo", "attempts": 1}
    failed = await status(spent)
    assert failed["status"] == "failed" and failed["error"]["code"] == "worker_lost"
    gone = await status(lost)
    assert gone["status"] == "failed" and gone["error"]["code"] == "job_lost"
    # Each failed task's subscribers get exactly one final event.
    for task in (spent, lost):
        events = await watch(client, task["task_id"], user.headers, within_s=5)
        assert [e.event for e in events] == ["failed"]


def _start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return start(["-m", "server.worker"], env)


async def _wait_ready(proc: subprocess.Popen[bytes], within_s: float = 60) -> None:
    """Wait for the worker's ready line on its stdout."""
    assert proc.stdout is not None
    async with asyncio.timeout(within_s):
        while True:
            line = await asyncio.to_thread(proc.stdout.readline)
            if not line:
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise AssertionError(f"worker exited {proc.wait()}: {err[-3000:]}")
            if b"FluentPro worker: ready" in line:
                return


def _kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(10)


@pytest.mark.timeout(180)
async def test_worker_process_killed_mid_job_is_retried_elsewhere(
    make_client: AppFactory, database_url: str, redis_url: str
) -> None:
    stalled_after_s = 2.0
    env = server_env(
        database_url,
        redis_url,
        free_port(),
        FLUENTPRO_TASKS_STALLED_AFTER_S=str(stalled_after_s),
        FLUENTPRO_TASKS_BATCH_CONCURRENCY="1",
    )
    client = await make_client(tasks={"in_process_worker": False})
    user = await register_user(client)
    first = _start_worker(env)
    second: subprocess.Popen[bytes] | None = None
    try:
        await _wait_ready(first)
        descriptions = [f"{DESCRIPTIONS[i % 6]} (posting {i})" for i in range(200)]
        task = await create_task(
            client, user.headers, "batch_role_match", {"job_descriptions": descriptions}
        )
        async with asyncio.timeout(120):  # generous: a loaded 2-core CI machine
            async with client.get(task["events_url"], headers=user.headers) as resp:
                assert resp.status == 200
                seen = await events_until(
                    resp,
                    lambda e: e.data.get("status") == "running" and e.data.get("progress", 0) >= 2,
                )
                assert first.poll() is None
                os.kill(first.pid, signal.SIGKILL)
                killed_at = time.monotonic()
                first.wait(10)
                second = _start_worker(env)
                await _wait_ready(second)
                ready_at = time.monotonic()
                seen += await events_until(
                    resp, lambda e: e.data.get("status") == "queued", within_s=60
                )
                requeued_after = time.monotonic() - max(ready_at, killed_at + stalled_after_s)
                seen += await read_events(resp)
        # Once the dead worker has been silent for stalled_after_s and a live worker runs,
        # its job is requeued within a sweep interval (stalled_after_s / 3), plus slack.
        assert requeued_after < stalled_after_s + 5, requeued_after
        final = assert_well_formed(seen, task["task_id"])
        assert final.event == "complete", final.data
        assert final.data["result"]["total"] == 200 and final.data["result"]["failed"] == 0
        lost = [e for e in seen if e.data.get("status") == "queued"]
        assert "stopped responding" in lost[0].data["message"]
        stored = await (await client.get(task["status_url"], headers=user.headers)).json()
        assert stored["status"] == "succeeded" and stored["attempts"] == 2
        # A clean stop: SIGTERM, exit code 0.
        second.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(second.wait, 30) == 0
    finally:
        _kill(first)
        if second is not None:
            _kill(second)


async def test_server_shutdown_hands_running_tasks_back(make_client: AppFactory) -> None:
    """The in-process worker stops with its app: a running task goes back to the queue
    (row ``queued``, job ``todo``) and the next worker finishes it."""
    first = await make_client(tasks={"shutdown_grace_s": 0, "batch_concurrency": 1})
    _swap_career(first, lambda inner: GatedCareer(inner, free=1))
    user = await register_user(first)
    task = await create_task(
        first, user.headers, "batch_role_match", {"job_descriptions": DESCRIPTIONS}
    )
    async with first.get(task["events_url"], headers=user.headers) as resp:
        await events_until(resp, lambda e: e.data.get("progress", 0) > 0)
    await first.close()  # app cleanup: the worker stops, the job is handed back

    probe = await make_client(tasks={"in_process_worker": False})
    row = await probe.app[DB].fetch_one(
        "SELECT t.status, t.message, j.status::text AS job_status FROM tasks t "
        "JOIN procrastinate_jobs j ON j.id = t.job_id WHERE t.id = %(t)s",
        {"t": task["task_id"]},
    )
    assert row is not None and (row["status"], row["job_status"]) == ("queued", "todo"), row
    assert "will resume" in row["message"]

    second = await make_client()  # the next worker takes the job at once
    events = await watch(second, task["task_id"], user.headers)
    final = assert_well_formed(events, task["task_id"])
    assert final.event == "complete", final.data
    assert final.data["result"]["total"] == len(DESCRIPTIONS)
    stored = await (await second.get(task["status_url"], headers=user.headers)).json()
    assert stored["attempts"] == 2
