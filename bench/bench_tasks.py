"""1,000 batch_role_match items on the local engine, run by the server's in-process worker.

Measures items/s and end-to-end time (first POST → last final event, each task watched
over SSE) and the event-loop lag of the server process while the batches run: the
server's own loop-lag monitor (sampling every 20 ms) is read through
GET /api/v1/system/status. Goal: loop-lag p99 <= 10 ms. Bounded (< 3 min).

    python -m bench.bench_tasks [--items 1000] [--out tasks]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import time
import uuid
from typing import Any

import aiohttp
import psycopg2

from bench.common import free_port, machine_info, server_process, services, write_result

DESCRIPTIONS = [
    "Senior backend engineer: Python, PostgreSQL, Redis, asyncio, REST APIs, Docker.",
    "Data analyst with SQL, Excel, Tableau and statistics; dashboards for finance.",
    "Frontend developer: React, TypeScript, CSS, accessibility, design systems.",
    "Machine learning engineer: PyTorch, model training, MLOps, Kubernetes, Python.",
    "Product manager for a B2B SaaS platform: roadmaps, user research, analytics.",
    "DevOps engineer: Terraform, AWS, CI/CD pipelines, monitoring, Linux.",
    "Mobile developer: Kotlin, Swift, iOS and Android apps, REST, CI.",
    "Security engineer: threat modelling, penetration testing, cloud security, IAM.",
]
PER_TASK = 500  # the API's maximum per batch
SAMPLE_S = 0.02
BOUND_S = 170.0  # the whole benchmark, server start excepted


def _env(database_url: str, redis_url: str, port: int) -> dict[str, str]:
    return {
        "FLUENTPRO_DATABASE_URL": database_url,
        "FLUENTPRO_REDIS_URL": redis_url,
        "FLUENTPRO_PORT": str(port),
        "FLUENTPRO_PEPPER": "bench-pepper",
        "FLUENTPRO_LOGGING_LEVEL": "WARNING",
        "FLUENTPRO_AI_BASE_URL": "",
        "FLUENTPRO_TASKS_IN_PROCESS_WORKER": "true",
        "FLUENTPRO_MONITOR_SAMPLE_INTERVAL_S": str(SAMPLE_S),
        "FLUENTPRO_LIMITS_ANONYMOUS_REQUESTS_PER_MINUTE": "1000000",
    }


async def _admin_session(base: str, database_url: str, s: aiohttp.ClientSession) -> dict[str, str]:
    email = f"bench-{uuid.uuid4().hex[:10]}@example.com"
    body = {"email": email, "password": "copper-lantern-orbit-meadow-42", "display_name": "Bench"}
    async with s.post(f"{base}/api/v1/auth/register", json=body) as r:
        if r.status != 201:
            raise RuntimeError(f"register: {r.status} {await r.text()}")
        token = (await r.json())["token"]
    conn = psycopg2.connect(database_url, connect_timeout=5)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("UPDATE users SET role = 'admin' WHERE lower(email) = %s", (email,))
    finally:
        conn.close()
    return {"Authorization": f"Bearer {token}"}


async def _watch(s: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> dict[str, Any]:
    """Follow a task's SSE stream to its final event; returns the final event's data."""
    progress_events = 0
    async with s.get(url, headers=headers) as r:
        if r.status != 200:
            raise RuntimeError(f"events: {r.status}")
        event = ""
        while True:
            line = (await r.content.readline(max_line_length=64 * 1024 * 1024)).decode()
            if not line:
                raise RuntimeError("stream ended before the final event")
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "progress":
                progress_events += 1
            elif line.startswith("data:") and event in ("complete", "failed", "cancelled"):
                data: dict[str, Any] = json.loads(line[5:])
                data["progress_events"] = progress_events
                return data


async def _status(s: aiohttp.ClientSession, base: str, h: dict[str, str]) -> dict[str, Any]:
    async with s.get(f"{base}/api/v1/system/status", headers=h) as r:
        if r.status != 200:
            raise RuntimeError(f"system status: {r.status} {await r.text()}")
        return dict(await r.json())


async def _idle_p99(s: aiohttp.ClientSession, base: str, headers: dict[str, str]) -> float:
    """The control: the same server's loop-lag p99 over a window with no task running
    (what the machine's other load alone does to it)."""
    await asyncio.sleep(600 * SAMPLE_S)
    return float((await _status(s, base, headers))["loop_lag_ms"]["p99"])


async def _round(
    s: aiohttp.ClientSession, base: str, headers: dict[str, str], items: int
) -> dict[str, Any]:
    """One measured run: the lag window is first refilled with idle samples, then read
    every half window while the batches run, so every sample of the run is seen."""
    window_s = 600 * SAMPLE_S  # the monitor keeps 600 samples
    await asyncio.sleep(window_s)  # let idle samples replace the previous run's
    polls: list[dict[str, float]] = []
    stop = asyncio.Event()

    async def poll() -> None:
        while not stop.is_set():
            polls.append((await _status(s, base, headers))["loop_lag_ms"])
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), window_s / 2)

    load_before = os.getloadavg()[0]
    poller = asyncio.create_task(poll())
    started = time.perf_counter()
    finals = await _run_batches(s, base, headers, items)
    elapsed = time.perf_counter() - started
    stop.set()
    await poller
    polls.append((await _status(s, base, headers))["loop_lag_ms"])
    ok = all(f["status"] == "succeeded" for f in finals)
    return {
        "end_to_end_s": round(elapsed, 3),
        "items_per_s": round(items / elapsed, 1),
        "all_succeeded": ok,
        "item_errors": sum(f["result"]["failed"] for f in finals if f["status"] == "succeeded"),
        "progress_events": sum(f["progress_events"] for f in finals),
        "loop_lag_p99_ms": max(p["p99"] for p in polls),
        "loop_lag_max_ms": max(p["max"] for p in polls),
        "load_avg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


async def run(base: str, database_url: str, items: int, rounds: int) -> dict[str, Any]:
    timeout = aiohttp.ClientTimeout(total=BOUND_S)
    async with aiohttp.ClientSession(timeout=timeout) as s:
        headers = await _admin_session(base, database_url, s)
        await _run_batches(s, base, headers, 40)  # warm-up: pool processes, connections
        results = []
        for _ in range(rounds):
            results.append(await _round(s, base, headers, items))
            results[-1]["idle_control_loop_lag_p99_ms"] = await _idle_p99(s, base, headers)
    best = min(results, key=lambda r: r["loop_lag_p99_ms"])
    p99s = sorted(r["loop_lag_p99_ms"] for r in results)
    ok = all(r["all_succeeded"] and r["item_errors"] == 0 for r in results)
    return {
        "items": items,
        "tasks_per_round": -(-items // PER_TASK),
        "rounds": results,
        "median": {
            "end_to_end_s": statistics.median(r["end_to_end_s"] for r in results),
            "items_per_s": statistics.median(r["items_per_s"] for r in results),
            "loop_lag_p99_ms": statistics.median(p99s),
        },
        "loop_lag": {
            "sample_interval_ms": SAMPLE_S * 1000,
            "best_round_p99_ms": best["loop_lag_p99_ms"],
        },
        "goals": {
            "loop_lag_p99<=10ms (median round)": statistics.median(p99s) <= 10.0,
            "all_succeeded": ok,
        },
        "note": (
            "2-core machine shared with other jobs: load_avg_1m per round shows how quiet it was"
        ),
    }


async def _run_batches(
    s: aiohttp.ClientSession, base: str, headers: dict[str, str], items: int
) -> list[dict[str, Any]]:
    descriptions = [f"{DESCRIPTIONS[i % len(DESCRIPTIONS)]} (#{i})" for i in range(items)]
    chunks = [descriptions[i : i + PER_TASK] for i in range(0, items, PER_TASK)]
    urls = []
    for chunk in chunks:
        body = {"kind": "batch_role_match", "params": {"job_descriptions": chunk, "limit": 5}}
        async with s.post(f"{base}/api/v1/tasks", json=body, headers=headers) as r:
            if r.status != 202:
                raise RuntimeError(f"create: {r.status} {await r.text()}")
            urls.append(base + (await r.json())["events_url"])
    return list(await asyncio.gather(*(_watch(s, url, headers) for url in urls)))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--items", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--out", default="tasks")
    args = p.parse_args()
    database_url, redis_url = services()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = _env(database_url, redis_url, port)
    with server_process(["-m", "server"], env, health=f"{base}/health/ready"):
        figures = asyncio.run(
            asyncio.wait_for(run(base, database_url, args.items, args.rounds), BOUND_S)
        )
    result = {"machine": machine_info(), **figures}
    path = write_result(args.out, result)
    print(json.dumps(figures, indent=2))
    print(f"written {path}")


if __name__ == "__main__":
    main()
