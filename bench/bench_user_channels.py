"""Per-user channels: the cost of an event when every user has a channel of their own.

    python bench/bench_user_channels.py                      # N = 500 and 5,000, R = 500/s
    python bench/bench_user_channels.py --users 500 --label before --out /tmp/x.json

N users, each with one connection on its own channel — half over WebSocket
(``user:<id>:recommendations``, subscribed automatically), half over SSE (the user's task
stream, ``tasks:<id>``). This process publishes R events per second to random users
through the product's own publish path (``EventBus.publish`` of the tree under test), each
carrying its publish time; one client process (bench/user_channels_client.py, raw asyncio
protocols) records delivery latency. One server process per N.

Reported per N: server CPU per delivered event (and the idle CPU of the same connections),
delivery p50/p99, % delivered, Redis commands and Redis CPU per published event (INFO
over the publish window: use a Redis server of your own), load average.
Goals (issue #17): CPU per event at 5,000 users <= 1.3x that at 500; p99 <= 50 ms at
5,000 x 500/s; 100 % delivered. Run it on the code before a change too (same sitting,
copy this file and user_channels_client.py into that tree) so the gain is a ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp
import redis
import redis.asyncio as aioredis

from bench.bench_fanout import cpu_s, fluentpro
from bench.common import ROOT, machine_info, services
from services.events.bus import EventBus

GOAL_CPU_RATIO = 1.3
GOAL_P99_MS = 50.0
PASSWORD = "copper-lantern-orbit-42x"
ACCOUNTS = Path("/tmp/fluentpro-bench-user-channels.json")


async def sign_up(
    s: aiohttp.ClientSession, base: str, name: str, with_task: bool, gate: asyncio.Semaphore
) -> dict[str, str]:
    """One new account (token, id), and a task of its own when ``with_task`` (the user's
    SSE stream follows it); any unexpected answer stops the benchmark."""
    body = {"email": f"{name}@example.com", "password": PASSWORD}
    async with gate:
        async with s.post(f"{base}/api/v1/auth/register", json=body) as r:
            if r.status != 201:
                raise SystemExit(f"register: {r.status} {await r.text()}")
            data = await r.json()
        user = {"token": data["token"], "id": data["user"]["id"]}
        if with_task:
            hdrs = {"Authorization": f"Bearer {user['token']}"}
            task = {"kind": "career_report", "params": {}}
            async with s.post(f"{base}/api/v1/tasks", json=task, headers=hdrs) as r:
                if r.status != 202:
                    raise SystemExit(f"task: {r.status} {await r.text()}")
                user["task_id"] = (await r.json())["task_id"]
    return user


async def _accounts(base: str, n: int, cached: list[dict[str, str]]) -> list[dict[str, str]]:
    """``n`` users (token, id; every other one with a task for its SSE stream), reusing
    ``cached`` ones (sessions live in PostgreSQL, so they outlive the server)."""
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as s:
        if cached:
            hdrs = {"Authorization": f"Bearer {cached[0]['token']}"}
            async with s.get(f"{base}/api/v1/me", headers=hdrs) as r:
                if r.status != 200:
                    cached = []
        gate = asyncio.Semaphore(8)
        users = (
            sign_up(s, base, f"uc-{time.time_ns()}-{i}", i % 2 == 1, gate)
            for i in range(len(cached), n)
        )
        more = await asyncio.gather(*users)
    return cached + list(more)


def _channel_and_path(user: dict[str, str]) -> tuple[str, str, str]:
    if "task_id" in user:
        tid = user["task_id"]
        return "sse", f"tasks:{tid}", f"/api/v1/tasks/{tid}/events"
    return "ws", f"user:{user['id']}:recommendations", "/ws"


def _redis_cpu_s(r: redis.Redis) -> float:
    info: dict[str, Any] = r.info("cpu")  # type: ignore[assignment]
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


def _commands(r: redis.Redis) -> int:
    info: dict[str, Any] = r.info("commandstats")  # type: ignore[assignment]
    return sum(int(v["calls"]) for v in info.values())


async def _publish(redis_url: str, channels: list[str], rate: float, seconds: float) -> int:
    """``rate`` events/s for ``seconds`` to random channels, through EventBus.publish."""
    client = aioredis.Redis.from_url(redis_url, socket_timeout=5, max_connections=32)
    bus = EventBus(client, 10_000, 86_400, max_concurrency=32)
    rng = random.Random(42)
    n = int(rate * seconds)
    pending: set[asyncio.Task[str]] = set()
    failures = 0
    start = time.monotonic()
    for i in range(n):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        data = {"ts": time.time(), "seq": i, "pad": "x" * 64}
        task = asyncio.create_task(bus.publish(rng.choice(channels), "bench", data))
        pending.add(task)
        task.add_done_callback(pending.discard)
    for result in await asyncio.gather(*pending, return_exceptions=True):
        failures += isinstance(result, BaseException)
    await client.aclose()
    return n - failures


def _spec_file(users: list[dict[str, str]]) -> Path:
    path = Path(f"/tmp/fluentpro-uc-spec-{os.getpid()}.json")
    specs = []
    for user in users:
        mode, _, url_path = _channel_and_path(user)
        specs.append({"mode": mode, "path": url_path, "token": user["token"]})
    path.write_text(json.dumps(specs))
    return path


def measure(n: int, rate: float, seconds: float, users: list[dict[str, str]]) -> dict[str, Any]:
    database_url, redis_url = services()
    r = redis.Redis.from_url(redis_url, socket_timeout=5)
    channels = [_channel_and_path(u)[1] for u in users]
    # The task streams replay their history to a new SSE client: start each run with the
    # bench's own channels empty (they hold only what earlier runs published).
    for i in range(0, len(channels), 500):
        r.delete(*("fp:ev:" + ch for ch in channels[i : i + 500]))
    with fluentpro(database_url, redis_url, n) as (port, pid):
        spec = _spec_file(users)
        client = subprocess.Popen(
            [
                sys.executable,
                "bench/user_channels_client.py",
                "--port",
                str(port),
                "--spec",
                str(spec),
            ],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert client.stdout is not None and client.stdin is not None
        line = client.stdout.readline()
        connected = int(line.split()[1]) if line.startswith("READY") else 0
        time.sleep(2.0)  # settle after the connection burst
        idle_window = 3.0
        c0 = cpu_s(pid)
        time.sleep(idle_window)
        idle_cpu_s = cpu_s(pid) - c0
        load0 = os.getloadavg()[0]
        cmd0 = _commands(r)
        rcpu0 = _redis_cpu_s(r)
        cpu0 = cpu_s(pid)
        published = asyncio.run(_publish(redis_url, channels, rate, seconds))
        time.sleep(2.0)  # stragglers
        cpu1 = cpu_s(pid)
        rcpu1 = _redis_cpu_s(r)
        cmd1 = _commands(r)
        out, _ = client.communicate("STOP\n", timeout=120)
        spec.unlink(missing_ok=True)
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    delivered = result["events_received"]
    window = seconds + 2.0
    busy = cpu1 - cpu0
    idle_share = idle_cpu_s / idle_window * window
    result.update(
        users=n,
        connected=connected,
        rate_per_s=rate,
        published=published,
        delivered_pct=round(100 * delivered / published, 3) if published else 0.0,
        server_cpu_s=round(busy, 3),
        server_cpu_core_share=round(busy / window, 3),
        server_idle_core_share=round(idle_cpu_s / idle_window, 3),
        cpu_ms_per_delivered_event=round(1000 * busy / max(delivered, 1), 4),
        cpu_ms_per_event_above_idle=round(1000 * (busy - idle_share) / max(delivered, 1), 4),
        # Redis's own CPU: where the old design's O(channels) XREAD cost mostly went.
        redis_cpu_ms_per_published_event=round(1000 * (rcpu1 - rcpu0) / max(published, 1), 4),
        # The INFO call itself counts once.
        redis_commands_per_published_event=round((cmd1 - cmd0 - 1) / max(published, 1), 3),
        loadavg_1m=[round(load0, 2), round(os.getloadavg()[0], 2)],
    )
    print(json.dumps(result), flush=True)
    return result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--users", default="500,5000", help="comma-separated N values")
    p.add_argument("--rate", type=float, default=500.0)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--label", default="after", help="names the code under test in the file")
    p.add_argument("--out", default=str(ROOT / "bench" / "results" / "user_channels.json"))
    args = p.parse_args()
    ns = [int(x) for x in args.users.split(",")]
    database_url, redis_url = services()
    cached = json.loads(ACCOUNTS.read_text()) if ACCOUNTS.exists() else []
    with fluentpro(database_url, redis_url, max(ns)) as (port, _pid):
        users = asyncio.run(_accounts(f"http://127.0.0.1:{port}", max(ns), cached))
    ACCOUNTS.write_text(json.dumps(users))
    users = users[: max(ns)]
    runs = {str(n): measure(n, args.rate, args.seconds, users[:n]) for n in ns}
    results: dict[str, Any] = {
        "label": args.label,
        "machine": machine_info(),
        "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
        "runs": runs,
    }
    if len(ns) >= 2:
        small, big = runs[str(min(ns))], runs[str(max(ns))]
        ratio = big["cpu_ms_per_delivered_event"] / max(small["cpu_ms_per_delivered_event"], 1e-9)
        results["cpu_per_event_ratio_big_vs_small"] = round(ratio, 3)
        results["goals"] = {
            "cpu_per_event_ratio_le_1_3": ratio <= GOAL_CPU_RATIO,
            "p99_le_50ms_at_big": (big["latency_ms"]["p99"] or 1e9) <= GOAL_P99_MS,
            "all_delivered": all(r["delivered_pct"] >= 100.0 for r in runs.values()),
        }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, sort_keys=True))
    print(json.dumps({k: v for k, v in results.items() if k != "runs"}, indent=2))
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
