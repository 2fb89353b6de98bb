"""Answers people can trust (issue #19): reading quality, one score everywhere, speed.

    python -m bench.bench_answers [--samples 300] [--out answers]

(a) Reading quality on the labelled evaluation set (tests/eval, 92 ads): skill precision
    and recall, top-1/top-3 family accuracy, the weak-fit rate on out-of-catalog ads and
    cross-family trap hits. Goals: precision >= 0.95, recall >= 0.85, top-1 >= 85 %,
    top-3 >= 95 %, out-of-catalog weak >= 90 %, zero trap hits.
(b) Same inputs, same score, through the real app (create_app on a real port, its own
    PostgreSQL database and Redis, no AI provider): for one person and one ad, the role's
    score from POST /recommendations/roles and from a batch_role_match task; for the
    person alone, the role's score in the career report's recommendations, its skill
    gaps, the learning path toward it and the coach's answer over the WebSocket.
    Goal: identical within each group.
(c) Local-engine latency for 2,000-character ads (built from the evaluation ads, with a
    profile), against a baseline measured in the same run: tokenising the same text and
    scoring it with BM25 alone, the floor of any text matcher. Goal: p99 <= 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import statistics
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from bench.common import BENCH_DB, free_port, machine_info, write_result
from server import infra
from server.app import create_app
from server.config import load_config
from services.career.catalog import load_seed_catalog
from services.career.engine import LocalCareerEngine
from services.career.taxonomy import tokenize
from tests.eval.metrics import ALL_ADS, GOALS, evaluate

P99_GOAL_MS = 50.0
PROFILE = {
    "current_role": "Data Analyst",
    "experience_level": "mid",
    "skills": ["SQL", "Python", "Apache Spark"],
    "weekly_hours": 6,
}
AD = next(ad for ad in ALL_ADS if ad.key == "trap-senior-data-engineer-emr").text


def _ms(times: list[float]) -> dict[str, float]:
    times = sorted(times)
    return {
        "p50_ms": round(statistics.median(times), 3),
        "p99_ms": round(times[int(0.99 * (len(times) - 1))], 3),
        "max_ms": round(times[-1], 3),
    }


def measure_latency(samples: int) -> dict[str, Any]:
    """p50/p99 of recommend_roles on 2,000-character ads vs tokenise + BM25 alone."""
    engine = LocalCareerEngine(load_seed_catalog())
    rng = random.Random(19)
    texts = []
    for _ in range(samples):
        text = ""
        while len(text) < 2000:
            text += rng.choice(ALL_ADS).text + " "
        texts.append(text[:2000])
    bm25 = engine.scorer._bm25  # the baseline: the text-similarity floor of the same run

    def baseline(text: str) -> None:
        bm25.get_scores(tokenize(text))

    def full(text: str) -> None:
        engine.recommend_roles(text, PROFILE, 5)

    figures: dict[str, Any] = {"samples": samples, "description_chars": 2000}
    runs: dict[str, Callable[[str], None]] = {"baseline_tokenise_bm25": baseline, "engine": full}
    for name, fn in runs.items():
        fn(texts[0])  # warm
        times = []
        for text in texts:
            start = time.perf_counter()
            fn(text)
            times.append((time.perf_counter() - start) * 1000)
        figures[name] = _ms(times)
    figures["ratio_p50_engine_vs_baseline"] = round(
        figures["engine"]["p50_ms"] / max(figures["baseline_tokenise_bm25"]["p50_ms"], 1e-6), 2
    )
    return figures


async def _json(resp: aiohttp.ClientResponse, status: int) -> Any:
    body = await resp.json(content_type=None)
    if resp.status != status:
        raise RuntimeError(f"{resp.method} {resp.url} -> {resp.status}: {body}")
    return body


async def _task(
    http: aiohttp.ClientSession, base: str, headers: dict[str, str], kind: str, params: Any
) -> Any:
    async with http.post(
        f"{base}/api/v1/tasks", json={"kind": kind, "params": params}, headers=headers
    ) as r:
        task = await _json(r, 202)
    async with asyncio.timeout(120):
        while True:
            async with http.get(f"{base}{task['status_url']}", headers=headers) as r:
                state = await _json(r, 200)
            if state["status"] in ("succeeded", "failed", "cancelled"):
                if state["status"] != "succeeded":
                    raise RuntimeError(f"{kind} ended {state['status']}: {state.get('error')}")
                return state["result"]
            await asyncio.sleep(0.2)  # polling a status URL, as a client would


async def _coach(base: str, headers: dict[str, str], message: str) -> str:
    async with (
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{base}/ws", headers=headers) as ws,
    ):
        await ws.receive_json(timeout=10)  # welcome
        await ws.send_json({"type": "chat", "id": "b", "message": message})
        text = ""
        async with asyncio.timeout(30):
            while True:
                msg = await ws.receive_json()
                if msg.get("type") == "chat.delta":
                    text += msg["delta"]
                elif msg.get("type") == "chat.done":
                    return text


def _score(answer: dict[str, Any], title: str) -> int | None:
    for rec in answer["recommendations"]:
        if rec["title"] == title:
            return int(rec["match_score"])
    return None


async def measure_consistency() -> dict[str, Any]:
    """One role's score in the five features, for the same person (and the same ad)."""
    suffix = os.environ.get("FLUENTPRO_TEST_DB_SUFFIX", "")
    var = infra.var_dir()
    pg = infra.locate_postgres(
        os.environ.get("FLUENTPRO_DATABASE_URL", ""), f"{BENCH_DB}_answers{suffix}", var
    )
    rd = infra.locate_redis(os.environ.get("FLUENTPRO_REDIS_URL", ""), 12, var)
    config = load_config(
        env={"FLUENTPRO_PEPPER": "bench-pepper"},
        overrides={
            "database": {"url": pg.url},
            "redis": {"url": rd.url},
            "auth": {"bcrypt_cost": 4},
            "logging": {"level": "WARNING"},
        },
    )
    app = create_app(config)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            email = f"bench-answers-{random.getrandbits(48):x}@example.com"
            async with http.post(
                f"{base}/api/v1/auth/register",
                json={"email": email, "password": "copper-lantern-orbit-meadow-42"},
            ) as r:
                headers = {"Authorization": f"Bearer {(await _json(r, 201))['token']}"}
            async with http.patch(
                f"{base}/api/v1/me", json={"profile": PROFILE}, headers=headers
            ) as r:
                await _json(r, 200)
            async with http.post(
                f"{base}/api/v1/recommendations/roles",
                json={"job_description": AD, "limit": 5},
                headers=headers,
            ) as r:
                direct = await _json(r, 200)
            title = direct["recommendations"][0]["title"]
            batch = await _task(http, base, headers, "batch_role_match", {"job_descriptions": [AD]})
            ad_scores = {
                "recommendations_roles": _score(direct, title),
                "batch_role_match": _score(batch["results"][0], title),
            }
            report = await _task(http, base, headers, "career_report", {})
            target = report["role_recommendations"]["recommendations"][0]["title"]
            async with http.post(
                f"{base}/api/v1/learning-paths", json={"target_role": target}, headers=headers
            ) as r:
                path = await _json(r, 201)
        coach = await _coach(base, headers, f"What are my gaps for {target}?")
        said = re.search(re.escape(target) + r" \((\d+)/100", coach)
        person_scores = {
            "career_report_recommendations": _score(report["role_recommendations"], target),
            "career_report_skill_gaps": report["skill_gaps"]["match_score"],
            "learning_path": path["target_role"]["match_score"],
            "coach": int(said.group(1)) if said else None,
        }
    finally:
        await runner.cleanup()
    return {
        "ad_role": title,
        "ad_scores": ad_scores,
        "person_role": target,
        "person_scores": person_scores,
        "coach_answer": coach,
        "identical": len(set(ad_scores.values())) == 1
        and None not in ad_scores.values()
        and len(set(person_scores.values())) == 1
        and None not in person_scores.values(),
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--samples", type=int, default=300)
    p.add_argument("--out", default="answers")
    args = p.parse_args()
    engine = LocalCareerEngine(load_seed_catalog())
    quality = evaluate(engine).figures()
    latency = measure_latency(args.samples)
    consistency = asyncio.run(measure_consistency())
    goals: dict[str, dict[str, Any]] = {
        name: {"goal": f">= {goal}", "value": quality[name], "met": quality[name] >= goal}
        for name, goal in GOALS.items()
    }
    goals["cross_family_trap_hits"] = {
        "goal": "== 0",
        "value": quality["trap_hits"],
        "met": quality["trap_hits"] == 0,
    }
    goals["identical_scores_across_features"] = {
        "goal": "true",
        "value": consistency["identical"],
        "met": consistency["identical"],
    }
    goals["local_engine_p99_ms"] = {
        "goal": f"<= {P99_GOAL_MS}",
        "value": latency["engine"]["p99_ms"],
        "met": latency["engine"]["p99_ms"] <= P99_GOAL_MS,
    }
    result = {
        "machine": machine_info(),
        "figures": {"quality": quality, "latency": latency, "consistency": consistency},
        "goals": goals,
    }
    path = write_result(args.out, result)
    print(orjson.dumps(goals, option=orjson.OPT_INDENT_2).decode())
    print(f"written to {path}")


if __name__ == "__main__":
    main()
