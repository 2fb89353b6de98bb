"""Benchmark of the shared circuit breaker's per-call overhead (Redis DB 13).

    python bench/bench_breaker.py --out bench/results/breaker.json

Measures, in one run: an unguarded no-op upstream call; acquire + call + record_success
in CLOSED; the rejection (CircuitOpen) in OPEN, which must not reach the upstream.
Goals: closed overhead p50 <= 0.5 ms, open rejection p50 <= 1 ms, no upstream call.
Only the benchmark breaker's own keys are touched (and deleted afterwards).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.breaker.shared import (
    CircuitOpen,
    RedisCircuitBreaker,
    make_breaker_redis,
)

GOAL_CLOSED_OVERHEAD_P50_MS = 0.5
GOAL_OPEN_REJECTION_P50_MS = 1.0


def percentiles(samples_ns: list[int]) -> dict[str, float]:
    ms = sorted(s / 1e6 for s in samples_ns)
    q = statistics.quantiles(ms, n=100, method="inclusive")
    return {"p50": round(q[49], 4), "p99": round(q[98], 4), "max": round(ms[-1], 4)}


async def run(redis_url: str, iterations: int) -> dict[str, Any]:
    redis = make_breaker_redis(redis_url, timeout_s=1.0)
    name = f"bench-{os.getpid()}"
    breaker = RedisCircuitBreaker(redis, name, consecutive_failures=5, break_duration_s=60)
    calls = 0

    async def upstream() -> None:
        nonlocal calls
        calls += 1

    started = time.perf_counter()
    try:
        for _ in range(200):  # warm-up: connection, script cache
            await breaker.record_success(await breaker.acquire())
        unguarded: list[int] = []
        closed: list[int] = []
        for _ in range(iterations):  # interleaved so both see the same noise
            t0 = time.perf_counter_ns()
            await upstream()
            t1 = time.perf_counter_ns()
            permit = await breaker.acquire()
            await upstream()
            await breaker.record_success(permit)
            t2 = time.perf_counter_ns()
            unguarded.append(t1 - t0)
            closed.append(t2 - t1)
        for _ in range(5):
            await breaker.record_failure(await breaker.acquire())
        state = (await breaker.state())["state"]
        calls_before_open = calls
        rejected: list[int] = []
        for _ in range(iterations):
            t0 = time.perf_counter_ns()
            try:
                await breaker.acquire()
                await upstream()
            except CircuitOpen:
                pass
            rejected.append(time.perf_counter_ns() - t0)
        upstream_while_open = calls - calls_before_open
        shared = breaker.shared
    finally:
        await redis.delete(*[f"{{cb:{name}}}:{suffix}" for suffix in ("s", "open", "probe", "w")])
        await redis.aclose()
    u, c, r = percentiles(unguarded), percentiles(closed), percentiles(rejected)
    overhead = {k: round(c[k] - u[k], 4) for k in ("p50", "p99")}
    return {
        "iterations": iterations,
        "redis": redis_url,
        "shared": shared,
        "state_during_open_phase": state,
        "python": platform.python_version(),
        "unguarded_call_ms": u,
        "closed_call_ms": c,
        "closed_overhead_ms": overhead,
        "open_rejection_ms": r,
        "upstream_calls_while_open": upstream_while_open,
        "goals": {
            "closed_overhead_p50_le_0_5ms": overhead["p50"] <= GOAL_CLOSED_OVERHEAD_P50_MS,
            "open_rejection_p50_le_1ms": r["p50"] <= GOAL_OPEN_REJECTION_P50_MS,
            "no_upstream_call_while_open": upstream_while_open == 0 and state == "open",
        },
        "runtime_s": round(time.perf_counter() - started, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results/breaker.json"))
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/13")
    parser.add_argument("--iterations", type=int, default=5000)
    args = parser.parse_args()
    result = asyncio.run(run(args.redis, args.iterations))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    sys.exit(0 if all(result["goals"].values()) else 1)


if __name__ == "__main__":
    main()
