"""Role recommendations: cached answers vs a bare Redis GET, and the local engine's latency.

    python -m bench.bench_recommendations [--duration 4] [--rounds 3] [--connections 32]
                                          [--out recommendations]

(a) The app (create_app, in this process, on a real port, with the fake OpenAI-compatible
    server as its provider so answers are cached) serves GET /api/v1/recommendations/roles
    from the AI cache, authenticated, each answer stored in ``recommendations``; a bare
    aiohttp endpoint doing one Redis GET runs in the same process on another port. wrk (a
    separate process) loads them in turn, three rounds, and their medians are compared
    (``bench.common.interleaved``). Goal: app req/s >= 50 % of the bare endpoint's.
(b) The local engine, uncached: ``recommend_roles`` on 300 distinct 2,000-character job
    descriptions. Goal: p99 <= 50 ms.

Bounded time: about 2 * rounds * duration + 20 s of load plus start-up.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import orjson
import redis.asyncio as aioredis
from aiohttp import web

from bench.common import (
    free_port,
    interleaved,
    machine_info,
    profile,
    services,
    summary,
    write_result,
    wrk,
)
from handlers.keys import CAREER
from server.app import create_app
from server.config import load_config
from server.resources import make_redis
from services.career.catalog import load_seed_catalog
from services.career.engine import LocalCareerEngine
from tests.fake_ai import run_fake_ai

RATIO_GOAL = 0.5
PROFILE_S = 5
P99_GOAL_MS = 50.0
DESCRIPTION = (
    "We are looking for a site reliability engineer to run Kubernetes clusters on AWS, "
    "automate infrastructure with Terraform and keep CI/CD pipelines healthy."
)
BARE_REDIS = web.AppKey("bare_redis", aioredis.Redis)


async def _bare_get(request: web.Request) -> web.Response:
    value = await request.app[BARE_REDIS].get("bench:rec:key")
    return web.Response(
        body=orjson.dumps({"value": value.decode() if isinstance(value, bytes) else value}),
        content_type="application/json",
    )


async def _start(app: web.Application, port: int) -> web.AppRunner:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


async def _load(
    url: str, args: argparse.Namespace, headers: dict[str, str] | None = None
) -> Callable[[], dict[str, float]]:
    """Warm *url* up; the returned load runs wrk on it (from a worker thread: this loop
    serves the app under test)."""
    await asyncio.to_thread(
        wrk, url, connections=args.connections, duration_s=2, headers=headers
    )  # warm-up
    return lambda: wrk(url, connections=args.connections, duration_s=args.duration, headers=headers)


async def _start_bare(redis_url: str, config: Any) -> tuple[web.AppRunner, str]:
    """The baseline: a bare aiohttp endpoint doing one Redis GET, on its own port."""
    bare = web.Application()
    client = make_redis(redis_url, config)
    await client.set("bench:rec:key", "x" * 64)
    bare[BARE_REDIS] = client

    async def close(app: web.Application) -> AsyncIterator[None]:
        yield
        await client.aclose()

    bare.cleanup_ctx.append(close)
    bare.router.add_get("/", _bare_get)
    port = free_port()
    return await _start(bare, port), f"http://127.0.0.1:{port}/"


async def measure_cached(args: argparse.Namespace) -> dict[str, Any]:
    """req/s of the cached role recommendations vs a bare one-Redis-GET endpoint."""
    database_url, redis_url = services()
    figures: dict[str, Any] = {}
    async with run_fake_ai() as fake:
        config = load_config(
            env={"FLUENTPRO_PEPPER": "bench-pepper"},
            overrides={
                "database": {"url": database_url},
                "redis": {"url": redis_url},
                "auth": {"bcrypt_cost": 4},
                "ai": {"base_url": fake.url, "max_retries": 0},
                "logging": {"level": "WARNING"},
                "tasks": {"in_process_worker": False},
            },
        )
        app = create_app(config)
        port = free_port()
        runner = await _start(app, port)
        try:
            role = app[CAREER].catalog.role("Site Reliability Engineer")
            assert role is not None
            fake.set(
                data={
                    "recommendations": [
                        {
                            "role_id": role.id,
                            "title": role.title,
                            "match_score": 88,
                            "reasoning": "ok",
                        }
                    ]
                }
            )
            base = f"http://127.0.0.1:{port}"
            async with aiohttp.ClientSession() as http:
                email = f"bench-{random.getrandbits(48):x}@example.com"
                async with http.post(
                    f"{base}/api/v1/auth/register",
                    json={"email": email, "password": "copper-lantern-orbit-meadow-42"},
                ) as r:
                    token = (await r.json())["token"]
                headers = {"Authorization": f"Bearer {token}"}
                url = (
                    f"{base}/api/v1/recommendations/roles?"
                    + f"description={DESCRIPTION.replace(' ', '%20')}&limit=5"
                )
                sources = []
                for _ in range(2):
                    async with http.get(url, headers=headers) as r:
                        sources.append((await r.json())["source"])
            figures["sources_first_two"] = sources
            bare_runner, bare_url = await _start_bare(redis_url, config)
            try:
                # The app and its baseline take turns, three rounds; medians compared.
                loads = {
                    "app_cached": await _load(url, args, headers),
                    "bare_redis_get": await _load(bare_url, args),
                }
                figures.update(await asyncio.to_thread(interleaved, loads, rounds=args.rounds))
            finally:
                await bare_runner.cleanup()
            # Where the app's time goes on this path (reported with a missed goal).
            spy = asyncio.create_task(
                asyncio.to_thread(profile, os.getpid(), PROFILE_S, "recommendations")
            )
            await asyncio.to_thread(
                wrk, url, connections=args.connections, duration_s=PROFILE_S + 2, headers=headers
            )
            figures["app_cached_profile"] = summary(await spy)
            # The authenticated floor of the same app (auth + middlewares, one DB/Redis read).
            me_load = await _load(f"{base}/api/v1/me", args, headers)
            figures["app_me"] = await asyncio.to_thread(me_load)
            figures["provider_calls"] = fake.calls
        finally:
            await runner.cleanup()
    bare_rps = figures["bare_redis_get"]["rps"]
    figures["ratio"] = round(figures["app_cached"]["rps"] / bare_rps, 3)
    figures["ratio_me_vs_bare"] = round(figures["app_me"]["rps"] / bare_rps, 3)
    return figures


def _description(rng: random.Random, words: list[str]) -> str:
    text = ""
    while len(text) < 2000:
        text += rng.choice(words) + " "
    return text[:2000]


def measure_local(samples: int = 300) -> dict[str, Any]:
    """Latency of the uncached local engine on distinct 2,000-character descriptions."""
    catalog = load_seed_catalog()
    engine = LocalCareerEngine(catalog)
    rng = random.Random(7)
    vocabulary = (" ".join(r.description for r in catalog.roles)).split()
    vocabulary += [s.name for s in catalog.skills]
    texts = [_description(rng, vocabulary) for _ in range(samples)]
    engine.recommend_roles(texts[0], {"skills": ["python"]}, 5)  # warm caches
    times = []
    for text in texts:
        start = time.perf_counter()
        engine.recommend_roles(text, {"skills": ["python", "sql"]}, 5)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {
        "samples": samples,
        "description_chars": 2000,
        "p50_ms": round(statistics.median(times), 2),
        "p99_ms": round(times[int(0.99 * (len(times) - 1))], 2),
        "max_ms": round(times[-1], 2),
    }


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    cached = await measure_cached(args)
    local = await asyncio.to_thread(measure_local)
    notes = []
    if cached["ratio"] < RATIO_GOAL:
        notes.append(
            f"cached_vs_bare_redis_ratio {cached['ratio']} missed {RATIO_GOAL} by "
            f"{(RATIO_GOAL - cached['ratio']) / RATIO_GOAL:.1%}; profile of the app on this "
            f"path: {cached['app_cached_profile']}"
        )
    return {
        "notes": " ".join(notes),
        "machine": machine_info(),
        "settings": {"duration_s": args.duration, "connections": args.connections},
        "figures": {"cached": cached, "local_engine": local},
        "goals": {
            "cached_vs_bare_redis_ratio": {
                "goal": f">= {RATIO_GOAL}",
                "value": cached["ratio"],
                "met": cached["ratio"] >= RATIO_GOAL,
            },
            "local_engine_p99_ms": {
                "goal": f"<= {P99_GOAL_MS}",
                "value": local["p99_ms"],
                "met": local["p99_ms"] <= P99_GOAL_MS,
            },
        },
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--duration", type=int, default=4)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--out", default="recommendations")
    args = p.parse_args()
    result = asyncio.run(main_async(args))
    path = write_result(args.out, result)
    print(orjson.dumps(result["goals"], option=orjson.OPT_INDENT_2).decode())
    print(f"written to {path}")


if __name__ == "__main__":
    main()
