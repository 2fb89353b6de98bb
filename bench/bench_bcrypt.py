"""bcrypt benchmark: the machine's ceiling vs. PasswordHasher on the event loop.

Usage::

    python bench/bench_bcrypt.py --out bench/results/bcrypt.json [--cost 12] [--hashes 16]
                                 [--concurrency 32]

(a) ceiling: ``bcrypt.checkpw`` at the cost on a bare ``ThreadPoolExecutor(os.cpu_count())``
    over ``--hashes`` calls -> hashes/s the cores can do at best.
(b) hasher: ``--concurrency`` concurrent ``PasswordHasher.verify`` calls at the same cost on
    one event loop, while a ticker sleeping 5 ms records how late it wakes up (the loop lag
    any other request would see).

Goals: hasher throughput >= 90 % of the ceiling, max loop lag <= 10 ms. Runs in ~10 s on
two cores at cost 12.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from importlib import metadata
from pathlib import Path
from typing import Any

import bcrypt

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.hashing import PasswordHasher, make_executor

PEPPER = b"benchmark-pepper-not-a-secret-0123"
PASSWORD = "correct horse battery staple"
TICK = 0.005
RATIO_GOAL = 0.9
LAG_GOAL_MS = 10.0


def measure_ceiling(cost: int, count: int) -> float:
    """Hashes per second of bare bcrypt.checkpw on a pool with one thread per core."""
    hashed = bcrypt.hashpw(b"ceiling", bcrypt.gensalt(rounds=cost))
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        start = time.perf_counter()
        results = list(pool.map(lambda _: bcrypt.checkpw(b"ceiling", hashed), range(count)))
        elapsed = time.perf_counter() - start
    if not all(results):
        raise RuntimeError("bcrypt.checkpw failed in the ceiling run")
    return count / elapsed


async def measure_hasher(cost: int, concurrency: int) -> tuple[float, float]:
    """(verifies per second, max event-loop lag in ms) for concurrent PasswordHasher.verify."""
    executor = make_executor()
    try:
        hasher = PasswordHasher(PEPPER, cost=cost, executor=executor)
        stored = await hasher.hash(PASSWORD)
        max_lag = 0.0
        done = asyncio.Event()

        async def ticker() -> None:
            nonlocal max_lag
            loop = asyncio.get_running_loop()
            while not done.is_set():
                before = loop.time()
                await asyncio.sleep(TICK)
                max_lag = max(max_lag, loop.time() - before - TICK)

        tick = asyncio.create_task(ticker())
        await asyncio.sleep(TICK * 2)  # let the ticker start
        try:
            start = time.perf_counter()
            oks = await asyncio.gather(
                *(hasher.verify(PASSWORD, stored) for _ in range(concurrency))
            )
            elapsed = time.perf_counter() - start
        finally:
            done.set()
            await tick
        if not all(oks):
            raise RuntimeError("PasswordHasher.verify failed in the benchmark")
        return concurrency / elapsed, max_lag * 1000
    finally:
        executor.shutdown(wait=True)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/results/bcrypt.json"))
    parser.add_argument("--cost", type=int, default=12)
    parser.add_argument("--hashes", type=int, default=16)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args(argv)

    ceiling = measure_ceiling(args.cost, args.hashes)
    hasher_rate, lag_ms = asyncio.run(measure_hasher(args.cost, args.concurrency))
    ratio = hasher_rate / ceiling
    result: dict[str, Any] = {
        "ceiling_hashes_per_s": round(ceiling, 3),
        "hasher_hashes_per_s": round(hasher_rate, 3),
        "ratio": round(ratio, 3),
        "max_loop_lag_ms": round(lag_ms, 2),
        "goals": {
            f"ratio>={RATIO_GOAL}": ratio >= RATIO_GOAL,
            f"lag<={LAG_GOAL_MS:g}ms": lag_ms <= LAG_GOAL_MS,
        },
        "params": {
            "cost": args.cost,
            "ceiling_hashes": args.hashes,
            "concurrent_verifies": args.concurrency,
            "tick_ms": TICK * 1000,
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "bcrypt": metadata.version("bcrypt"),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
