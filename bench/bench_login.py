"""Login benchmark: 32 concurrent logins against the real app at bcrypt cost 12.

Usage::

    python bench/bench_login.py [--concurrency 32] [--logins 64] [--cost 12]

The app runs in this process on a real port (its own database ``fluentpro_bench_login`` and
Redis DB ``FLUENTPRO_BENCH_REDIS_DB``, default 13; ``FLUENTPRO_DATABASE_URL`` /
``FLUENTPRO_REDIS_URL`` name the servers). The load comes from an aiohttp client in a
separate process (so it never competes for the server's GIL). While the logins run, a ticker
in the server's loop sleeps 5 ms and records how late it wakes (the lag every other request
would see). The same run measures the bare bcrypt ceiling before and after the logins
(``bench.bench_bcrypt.measure_ceiling``: ``checkpw`` on a pool with one thread per core) and
compares with the better of the two.

Goals: max loop lag <= 10 ms; logins/s >= 90 % of the ceiling. Writes
``bench/results/login.json``. Takes ~20-30 s on two cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_bcrypt import measure_ceiling
from bench.common import machine_info, write_result
from server import infra
from server.app import create_app
from server.cli import new_event_loop
from server.config import load_config

BENCH_DB = "fluentpro_bench_login"
PASSWORD = "ochre-trumpet-glacier-nimble-parsnip"
TICK = 0.005
LAG_GOAL_MS = 10.0
RATIO_GOAL = 0.9
USERS = 48  # one account per login: a real burst comes from many people, not one


def runqueue_wait_s() -> float:
    """Seconds the calling thread has spent runnable but waiting for a CPU (Linux only)."""
    try:
        with open("/proc/thread-self/schedstat", encoding="ascii") as fh:
            return int(fh.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def resolve() -> tuple[str, str, list[infra.Located]]:
    var = infra.var_dir()
    redis_db = int(os.environ.get("FLUENTPRO_BENCH_REDIS_DB", "13"))
    pg = infra.locate_postgres(os.environ.get("FLUENTPRO_DATABASE_URL", ""), BENCH_DB, var)
    rd = infra.locate_redis(os.environ.get("FLUENTPRO_REDIS_URL", ""), redis_db, var)
    url = rd.url
    if rd.how == "configured" and url.startswith("redis://"):
        url = f"{url.rsplit('/', 1)[0]}/{redis_db}"
    return pg.url, url, [pg, rd]


async def client_process(
    base: str, emails: list[str], total: int, concurrency: int
) -> dict[str, Any]:
    """Run :func:`run_client` in a child process; its JSON answer comes back on stdout."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--client-of",
        base,
        "--logins",
        str(total),
        "--concurrency",
        str(concurrency),
        *emails,
        stdout=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(300):
        out, _ = await proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"the load client failed ({proc.returncode})")
    answer: dict[str, Any] = json.loads(out)
    answer["statuses"] = {int(k): v for k, v in answer["statuses"].items()}
    return answer


def run_client(base: str, emails: list[str], total: int, concurrency: int) -> dict[str, Any]:
    """Fire ``total`` logins, ``concurrency`` at a time, from a fresh event loop."""

    async def go() -> dict[str, Any]:
        statuses: dict[int, int] = {}
        latencies: list[float] = []
        queue = list(range(total))
        timeout = aiohttp.ClientTimeout(total=120)
        async with aiohttp.ClientSession(timeout=timeout) as session:

            async def worker() -> None:
                while queue:
                    i = queue.pop()
                    body = {"email": emails[i % len(emails)], "password": PASSWORD}
                    started = time.perf_counter()
                    async with session.post(base + "/api/v1/auth/login", json=body) as r:
                        await r.read()
                        statuses[r.status] = statuses.get(r.status, 0) + 1
                    latencies.append(time.perf_counter() - started)

            started = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
        latencies.sort()
        return {
            "elapsed_s": elapsed,
            "statuses": statuses,
            "p50_ms": latencies[len(latencies) // 2] * 1000,
            "max_ms": latencies[-1] * 1000,
        }

    return asyncio.run(go())


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    db_url, redis_url, _keep = resolve()
    config = load_config(
        env={"FLUENTPRO_PEPPER": "benchmark-pepper-not-a-secret-0123"},
        overrides={
            "database": {"url": db_url},
            "redis": {"url": redis_url},
            "auth": {
                "bcrypt_cost": args.cost,
                "login_failures_before_throttle": 1000,
                "login_address_failures_before_throttle": 1000,
                "login_account_failures_before_throttle": 1000,
            },
            "logging": {"level": "WARNING"},
        },
    )
    import redis.asyncio as aioredis

    flush = aioredis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=2)
    await flush.flushdb()  # the benchmark's own DB number
    await flush.aclose()

    ceiling_before = await asyncio.to_thread(measure_ceiling, args.cost, args.ceiling_hashes)
    runner = web.AppRunner(create_app(config), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    base = f"http://127.0.0.1:{port}"
    try:
        emails = [f"bench-{uuid.uuid4().hex[:10]}@example.com" for _ in range(USERS)]
        async with aiohttp.ClientSession() as session:
            for email in emails:
                body = {"email": email, "password": PASSWORD}
                async with session.post(base + "/api/v1/auth/register", json=body) as r:
                    if r.status != 201:
                        raise RuntimeError(f"register failed: {r.status} {await r.text()}")

        lags: list[float] = []
        waits: list[float] = []  # the loop thread's run-queue wait during each sample
        done = asyncio.Event()

        async def ticker() -> None:
            while not done.is_set():
                queued = runqueue_wait_s()
                before = time.perf_counter()  # not loop.time(): uvloop's ticks are 1 ms
                await asyncio.sleep(TICK)
                lags.append(max(time.perf_counter() - before - TICK, 0.0))
                waits.append(runqueue_wait_s() - queued)

        tick = asyncio.create_task(ticker())
        try:
            client = await client_process(base, emails, args.logins, args.concurrency)
        finally:
            done.set()
            await tick
    finally:
        await runner.cleanup()

    ceiling_after = await asyncio.to_thread(measure_ceiling, args.cost, args.ceiling_hashes)
    ceiling = max(ceiling_after, ceiling_before)  # the machine is noisy: the better of two runs
    ok = client["statuses"].get(200, 0)
    rate = ok / client["elapsed_s"]
    worst = max(range(len(lags)), key=lags.__getitem__) if lags else None
    lags.sort()
    max_lag_ms = lags[-1] * 1000 if lags else 0.0
    ratio = rate / ceiling
    wait_ms = waits[worst] * 1000 if worst is not None else 0.0
    notes = ""
    if max_lag_ms > LAG_GOAL_MS:
        notes = (
            f"max loop lag {max_lag_ms:.1f} ms missed {LAG_GOAL_MS:g} ms by "
            f"{(max_lag_ms - LAG_GOAL_MS) / LAG_GOAL_MS:.0%}; of that worst sample the loop "
            f"thread spent {wait_ms:.1f} ms runnable but waiting for a CPU (other threads or "
            f"processes had both cores) and {max(max_lag_ms - wait_ms, 0):.1f} ms running."
        )
    return {
        "notes": notes,
        "logins_per_s": round(rate, 3),
        "ceiling_hashes_per_s": round(ceiling, 3),
        "ceiling_runs_hashes_per_s": [round(ceiling_before, 3), round(ceiling_after, 3)],
        "ratio": round(ratio, 3),
        "loop_lag_ms": {
            "max": round(max_lag_ms, 2),
            "p99": round(lags[int(len(lags) * 0.99)] * 1000, 2) if lags else 0.0,
            "p50": round(lags[len(lags) // 2] * 1000, 2) if lags else 0.0,
            "samples": len(lags),
            # Of the worst sample, the time the loop thread was runnable but other threads
            # or processes had the CPU (Linux schedstat; 0 elsewhere): a stall that is
            # mostly run-queue wait is the machine being busy, not the loop being blocked.
            "max_sample_runqueue_wait_ms": round(wait_ms, 2),
        },
        "login_latency_ms": {
            "p50": round(client["p50_ms"], 1),
            "max": round(client["max_ms"], 1),
        },
        "statuses": {str(k): v for k, v in client["statuses"].items()},
        "goals": {
            f"max_loop_lag<={LAG_GOAL_MS:g}ms": max_lag_ms <= LAG_GOAL_MS,
            f"ratio>={RATIO_GOAL}": ratio >= RATIO_GOAL,
            "all_logins_ok": ok == args.logins,
        },
        "params": {
            "cost": args.cost,
            "concurrency": args.concurrency,
            "logins": args.logins,
            "ceiling_hashes": args.ceiling_hashes,
            "tick_ms": TICK * 1000,
            "client": "aiohttp in a separate process",
        },
        "machine": machine_info(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--logins", type=int, default=48)
    parser.add_argument("--cost", type=int, default=12)
    parser.add_argument("--ceiling-hashes", type=int, default=12)
    parser.add_argument("--client-of", help=argparse.SUPPRESS)
    parser.add_argument("emails", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.client_of:  # the load-generating child process
        print(json.dumps(run_client(args.client_of, args.emails, args.logins, args.concurrency)))
        return 0
    logging.basicConfig(level=logging.WARNING)
    # The server's own event loop (uvloop by default, see server.event_loop): measure the
    # product as it is deployed. The bare-pool ceiling runs on the same loop.
    with asyncio.Runner(loop_factory=lambda: new_event_loop(load_config().server.event_loop)) as r:
        result = r.run(bench(args))
    path = write_result("login", result)
    print(f"wrote {path}")
    for key in ("logins_per_s", "ceiling_hashes_per_s", "ratio", "loop_lag_ms", "goals"):
        print(f"  {key}: {result[key]}")
    return 0 if all(result["goals"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
