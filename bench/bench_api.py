"""REST hot paths against bare baselines, same run, one server process, wrk in another.

Goals (issue "Observability, load shedding and the benchmark suite"):
- authenticated GET /api/v1/me: >= 40 % of bare hello-world req/s, p99 <= 2x hello's p99;
- GET /api/v1/learning-paths/{id}: >= 85 % of the bare aiopg endpoint's req/s, p99 <= 30 ms
  at 64 connections.

    python -m bench.bench_api [--duration 4] [--rounds 5] [--out bench/results/api.json]

Each endpoint and its baseline are loaded in turn, five rounds (p99 at 64 connections is the
noisiest figure here: one disturbed round must not decide it), and compared by their
medians (``bench.common.interleaved``).

The bare baselines run as plain aiohttp does, on asyncio's own loop; the app runs on uvloop
(its default). Diagnostic figures ``me_vs_hello_uvloop_*`` (no goal) compare /me with the
same hello world on uvloop: the stricter comparison.

Diagnostic figure ``pool_fifo`` (no goal): 64 tasks in this process share 10 connections
and run the bare baseline's primary-key SELECT, through aiopg's pool and through ours
(db/fair_pool.py, FIFO hand-over): operations/s and the latency of acquire + query +
release. aiopg's Condition lets newcomers overtake waiters, which is the tail.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import urllib.request
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.common import (
    free_port,
    interleaved,
    machine_info,
    profile,
    server_process,
    services,
    summary,
    write_result,
    wrk,
)


def _post(url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, Any]:
    req = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
        method="POST",
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def app_env(database_url: str, redis_url: str, port: int) -> dict[str, str]:
    return {
        "FLUENTPRO_DATABASE_URL": database_url,
        "FLUENTPRO_REDIS_URL": redis_url,
        "FLUENTPRO_PORT": str(port),
        "FLUENTPRO_PEPPER": "bench-pepper",
        "FLUENTPRO_LOGGING_LEVEL": "WARNING",
        "FLUENTPRO_LIMITS_ANONYMOUS_REQUESTS_PER_MINUTE": "1000000",
        "FLUENTPRO_TASKS_IN_PROCESS_WORKER": "false",
    }


async def _pool_latency(
    kind: str, database_url: str, *, tasks: int, size: int, duration_s: float
) -> dict[str, float]:
    import aiopg

    from db.fair_pool import FairPool

    pool: Any
    if kind == "aiopg":
        pool = await aiopg.create_pool(database_url, minsize=size, maxsize=size, timeout=10)
    else:
        pool = await FairPool.create(database_url, minsize=size, maxsize=size, timeout=10)
    try:
        async with pool.acquire() as conn:
            async with conn.cursor() as cur:  # the bare baseline's table (same statements)
                await cur.execute(
                    "CREATE TABLE IF NOT EXISTS bench_kv (id int PRIMARY KEY, value text)"
                )
                await cur.execute(
                    "INSERT INTO bench_kv SELECT g, md5(g::text) "
                    "FROM generate_series(1, 1000) g ON CONFLICT DO NOTHING"
                )
        latencies: list[float] = []
        deadline = time.perf_counter() + duration_s

        async def worker() -> None:
            while (start := time.perf_counter()) < deadline:
                async with pool.acquire() as conn:
                    async with conn.cursor() as cur:
                        await cur.execute("SELECT id, value FROM bench_kv WHERE id = %s", (42,))
                        await cur.fetchone()
                latencies.append(time.perf_counter() - start)

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(tasks)))
        elapsed = time.perf_counter() - began
    finally:
        pool.close()
        await pool.wait_closed()
    latencies.sort()
    n = len(latencies)
    return {
        "ops": round(n / elapsed, 1),
        "p50_ms": round(1000 * latencies[n // 2], 2),
        "p99_ms": round(1000 * latencies[min(n - 1, int(n * 0.99))], 2),
        "max_ms": round(1000 * latencies[-1], 2),
    }


def pool_fifo(database_url: str, *, tasks: int = 64, size: int = 10) -> dict[str, Any]:
    """The pool diagnostic (same loop, same query, same sizes for both pools)."""
    return {
        kind: asyncio.run(_pool_latency(kind, database_url, tasks=tasks, size=size, duration_s=4.0))
        for kind in ("aiopg", "fifo")
    }


PROFILE_S = 5
GOALS = (  # (goal, endpoint, figure, target, higher is better)
    ("me_rps_ge_40pct_hello", "me", "me_vs_hello_rps", 0.40, True),
    ("me_p99_le_2x_hello", "me", "me_vs_hello_p99", 2.0, False),
    ("path_rps_ge_85pct_bare_pg", "learning_path_by_id", "path_vs_bare_pg_rps", 0.85, True),
    ("path_p99_le_30ms", "learning_path_by_id", "path_p99_ms", 30.0, False),
)


def evaluate(results: dict[str, Any]) -> None:
    """Ratios, goals and, for each missed goal, by how much it was missed."""
    fig = results["figures"]
    hello, bare_pg = fig["hello"], fig["bare_pg"]
    ratios = results.setdefault("ratios", {})
    ratios["me_vs_hello_rps"] = fig["me"]["rps"] / hello["rps"]
    ratios["me_vs_hello_p99"] = fig["me"]["p99_ms"] / hello["p99_ms"]
    if "hello_uvloop" in fig:  # no goal: the stricter comparison, both on uvloop
        ratios["me_vs_hello_uvloop_rps"] = fig["me"]["rps"] / fig["hello_uvloop"]["rps"]
        ratios["me_vs_hello_uvloop_p99"] = fig["me"]["p99_ms"] / fig["hello_uvloop"]["p99_ms"]
    if "learning_path_by_id" in fig:
        ratios["path_vs_bare_pg_rps"] = fig["learning_path_by_id"]["rps"] / bare_pg["rps"]
        ratios["path_p99_ms"] = fig["learning_path_by_id"]["p99_ms"]
    results["goals"]["me_no_errors"] = fig["me"]["errors"] == 0
    results["misses"] = []
    for goal, endpoint, figure, target, higher in GOALS:
        if figure not in ratios:
            continue
        value = ratios[figure]
        met = value >= target if higher else value <= target
        results["goals"][goal] = met
        if not met:
            short = (target - value) / target if higher else (value - target) / target
            results["misses"].append(
                {
                    "goal": goal,
                    "endpoint": endpoint,
                    "value": round(value, 3),
                    "target": target,
                    "missed_by": f"{short:.1%}",
                }
            )


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--duration", type=int, default=4)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--connections", type=int, default=64)
    p.add_argument("--out", default="api")
    args = p.parse_args()
    database_url, redis_url = services()
    results: dict[str, Any] = {"machine": machine_info(), "figures": {}, "goals": {}}
    fig = results["figures"]

    def load(url: str, headers: dict[str, str] | None = None) -> Callable[[], dict[str, float]]:
        wrk(url, connections=args.connections, duration_s=2, headers=headers)  # warm-up
        return lambda: wrk(
            url, connections=args.connections, duration_s=args.duration, headers=headers
        )

    hello_port, uv_port, pg_port, port = free_port(), free_port(), free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    hello_url, pg_url = f"http://127.0.0.1:{hello_port}/", f"http://127.0.0.1:{pg_port}/"
    uv_url = f"http://127.0.0.1:{uv_port}/"
    # The baselines and the app run side by side; their loads take turns (see interleaved).
    with (
        server_process(
            ["-m", "bench.baselines", "hello", "--port", str(hello_port)], health=hello_url
        ),
        server_process(
            ["-m", "bench.baselines", "hello", "--port", str(uv_port), "--uvloop"], health=uv_url
        ),
        server_process(
            ["-m", "bench.baselines", "pg", "--port", str(pg_port), "--database-url", database_url],
            health=pg_url,
        ),
        server_process(
            ["-m", "server"],
            env=app_env(database_url, redis_url, port),
            health=f"{base}/health/ready",
        ) as app_proc,
    ):
        email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
        status, body = _post(
            f"{base}/api/v1/auth/register",
            {"email": email, "password": "orbit velvet canyon 42 lantern"},
        )
        if status != 201:
            raise SystemExit(f"register failed: {status} {body}")
        auth = {"Authorization": f"Bearer {body['token']}"}
        status, path = _post(
            f"{base}/api/v1/learning-paths",
            {"target_role": "Data Analyst", "timeline_weeks": 52},
            auth,
        )
        urls = {"me": f"{base}/api/v1/me"}
        loads = {
            "hello": load(hello_url),
            "hello_uvloop": load(uv_url),
            "bare_pg": load(pg_url),
            "me": load(urls["me"], auth),
        }
        if status == 201:
            urls["learning_path_by_id"] = f"{base}/api/v1/learning-paths/{path['id']}"
            loads["learning_path_by_id"] = load(urls["learning_path_by_id"], auth)
        else:
            results["notes"] = f"learning path not created ({status}); its figure is missing"
        fig.update(interleaved(loads, rounds=args.rounds))
        evaluate(results)
        # A missed goal: by how much, and a profile of the app under that same load.
        profiles: dict[str, str] = {}
        for miss in results["misses"]:
            endpoint = miss["endpoint"]
            if endpoint not in profiles:
                with ThreadPoolExecutor(1) as spying:
                    spy = spying.submit(profile, app_proc.pid, PROFILE_S, f"api-{endpoint}")
                    wrk(
                        urls[endpoint],
                        connections=args.connections,
                        duration_s=PROFILE_S + 2,
                        headers=auth,
                    )
                    profiles[endpoint] = summary(spy.result())
            miss["profile"] = profiles[endpoint]

    fig["pool_fifo"] = pool_fifo(database_url, tasks=args.connections)

    path = write_result(args.out, results)
    print(json.dumps({k: results[k] for k in ("ratios", "goals", "misses")}, indent=2))
    print(f"written {path}")


if __name__ == "__main__":
    main()
