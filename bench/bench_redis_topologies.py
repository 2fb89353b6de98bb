"""Per-user-channel fan-out with two app processes: a 3-master Redis Cluster vs one Redis.

    python bench/bench_redis_topologies.py                  # N = 400 users, R = 200 events/s
    python bench/bench_redis_topologies.py --users 1000 --rate 500

Both topologies are started here from the machine's ``redis-server`` (tests/redis_servers.py)
in the same sitting: one Redis server, then a cluster of 3 masters + 3 replicas. For each,
two server processes (A and B) share N users with one connection each on the user's own
channel (half WebSocket on ``user:<id>:recommendations``, half SSE on the user's task
stream), half of the connections on A and half on B; this process publishes R events/s to
random channels through the product's own ``EventBus.publish`` on a client of that
topology (bench/user_channels_client.py records delivery latency).

Reported per topology: delivered %, delivery p50/p99, the two servers' CPU per delivered
event, Redis CPU per published event (summed over the masters); and the ratios cluster /
single. No goal: on a 2-core machine the cluster's six servers share the cores with
everything else; the point is that it runs and where the time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp

from bench.bench_fanout import cpu_s
from bench.bench_user_channels import sign_up
from bench.common import ROOT, machine_info, services, wait_http
from services.events.bus import EventBus
from services.redis_clients import ClientSettings
from tests.redis_servers import (
    Server,
    Topology,
    clients_for,
    free_ports,
    start_cluster,
    wait_until,
)

RESULTS = ROOT / "bench" / "results"


def start_single() -> Topology:
    """One redis-server on a free port (the baseline)."""
    import tempfile

    directory = Path(tempfile.mkdtemp(prefix="fp-single-"))
    topo = Topology("single", directory)
    (port,) = free_ports(1)
    server = Server(port, ["--port", str(port), "--bind", "127.0.0.1", "--save", ""], directory)
    server.start()
    topo.servers.append(server)
    wait_until(lambda: bool(server.client(0.5).ping()), "redis-server")
    return topo


def env_of(topo: Topology) -> dict[str, str]:
    if topo.kind == "single":
        return {"FLUENTPRO_REDIS_URL": f"redis://{topo.servers[0].address}/0"}
    return topo.env()


def spec_of(topo: Topology) -> str:
    return f"redis://{topo.servers[0].address}/0" if topo.kind == "single" else topo.spec()


@contextlib.contextmanager
def two_apps(database_url: str, topo: Topology, n: int) -> Iterator[list[tuple[int, int]]]:
    """Two server processes (port, pid) on ``topo``; their output goes to a log file."""
    procs: list[subprocess.Popen[bytes]] = []
    ports: list[int] = []
    RESULTS.mkdir(parents=True, exist_ok=True)
    try:
        for _ in range(2):
            (port,) = free_ports(1)
            env = dict(os.environ)
            env.pop("FLUENTPRO_REDIS_URL", None)
            env.update(
                FLUENTPRO_DATABASE_URL=database_url,
                FLUENTPRO_PORT=str(port),
                FLUENTPRO_PEPPER="bench-pepper",
                FLUENTPRO_AUTH_BCRYPT_COST="4",
                FLUENTPRO_LOGGING_LEVEL="WARNING",
                FLUENTPRO_LIMITS_STREAMS_PER_USER=str(n * 2),
                FLUENTPRO_LIMITS_WS_PER_USER=str(n * 2),
                FLUENTPRO_LIMITS_WS_MESSAGES_PER_S="1000000",
                FLUENTPRO_MONITOR_METRICS_INTERVAL_S="3600",
                FLUENTPRO_MONITOR_SHED_LAG_MS="5000",
                FLUENTPRO_TASKS_IN_PROCESS_WORKER="false",
                FLUENTPRO_TASKS_ENGINE_PROCESSES="0",
                **env_of(topo),
            )
            log = open(RESULTS / f"server-topology-{topo.kind}-{len(procs)}.log", "ab")
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "server"], cwd=ROOT, env=env, stdout=log, stderr=log
                )
            )
            log.close()
            ports.append(port)
        for port in ports:
            wait_http(f"http://127.0.0.1:{port}/health/ready", timeout=90)
        yield [(port, proc.pid) for port, proc in zip(ports, procs, strict=True)]
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()


async def register(base: str, n: int) -> list[dict[str, str]]:
    """``n`` users; every other one with a task (its SSE stream)."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as s:
        gate = asyncio.Semaphore(8)
        users = (sign_up(s, base, f"rt-{time.time_ns()}-{i}", i % 2 == 1, gate) for i in range(n))
        return list(await asyncio.gather(*users))


def channel_and_path(user: dict[str, str]) -> tuple[str, str, str]:
    if "task_id" in user:
        tid = user["task_id"]
        return "sse", f"tasks:{tid}", f"/api/v1/tasks/{tid}/events"
    return "ws", f"user:{user['id']}:recommendations", "/ws"


def redis_cpu_s(topo: Topology) -> float:
    total = 0.0
    for server in topo.masters():
        info: Any = server.client(2).info("cpu")
        total += float(info["used_cpu_sys"]) + float(info["used_cpu_user"])
    return total


async def publish(spec: str, channels: list[str], rate: float, seconds: float) -> int:
    """``rate`` events/s for ``seconds`` to random channels, through EventBus.publish."""
    client = clients_for(spec).client(
        ClientSettings(socket_timeout_s=5, connect_timeout_s=5, max_connections=32)
    )
    bus = EventBus(client, 10_000, 86_400, max_concurrency=32)  # type: ignore[arg-type]
    rng = random.Random(42)
    n = int(rate * seconds)
    pending: set[asyncio.Task[str]] = set()
    start = time.monotonic()
    for i in range(n):
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        data = {"ts": time.time(), "seq": i, "pad": "x" * 64}
        task = asyncio.create_task(bus.publish(rng.choice(channels), "bench", data))
        pending.add(task)
        task.add_done_callback(pending.discard)
    results = await asyncio.gather(*pending, return_exceptions=True)
    await client.aclose()
    return n - sum(isinstance(r, BaseException) for r in results)


def measure(topo: Topology, n: int, rate: float, seconds: float) -> dict[str, Any]:
    database_url, _ = services()
    with two_apps(database_url, topo, n) as apps:
        users = asyncio.run(register(f"http://127.0.0.1:{apps[0][0]}", n))
        channels = [channel_and_path(u)[1] for u in users]
        clients = []
        for k, (port, _pid) in enumerate(apps):  # half the connections on each process
            spec = Path(f"/tmp/fluentpro-rt-spec-{os.getpid()}-{k}.json")
            spec.write_text(
                json.dumps(
                    [
                        {
                            "mode": channel_and_path(u)[0],
                            "path": channel_and_path(u)[2],
                            "token": u["token"],
                        }
                        for u in users[k::2]
                    ]
                )
            )
            clients.append(
                subprocess.Popen(
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
            )
        connected = 0
        for c in clients:
            assert c.stdout is not None
            line = c.stdout.readline()
            connected += int(line.split()[1]) if line.startswith("READY") else 0
        time.sleep(2.0)  # settle after the connection burst
        pids = [pid for _, pid in apps]
        cpu0 = sum(cpu_s(p) for p in pids)
        rcpu0 = redis_cpu_s(topo)
        published = asyncio.run(publish(spec_of(topo), channels, rate, seconds))
        time.sleep(2.0)  # stragglers
        cpu1 = sum(cpu_s(p) for p in pids)
        rcpu1 = redis_cpu_s(topo)
        outs = [c.communicate("STOP\n", timeout=120)[0] for c in clients]
    parts = [json.loads(o.strip().splitlines()[-1]) for o in outs]
    delivered = sum(p["events_received"] for p in parts)
    busy = cpu1 - cpu0
    return {
        "topology": topo.kind,
        "users": n,
        "connected": connected,
        "rate_per_s": rate,
        "published": published,
        "delivered_pct": round(100 * delivered / published, 3) if published else 0.0,
        "latency_ms_per_process": [p["latency_ms"] for p in parts],
        "p99_ms": max(p["latency_ms"]["p99"] for p in parts),
        "servers_cpu_ms_per_delivered_event": round(1000 * busy / max(delivered, 1), 4),
        "redis_cpu_ms_per_published_event": round(1000 * (rcpu1 - rcpu0) / max(published, 1), 4),
        "loadavg_1m": round(os.getloadavg()[0], 2),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=400)
    p.add_argument("--rate", type=float, default=200.0)
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--out", default=str(RESULTS / "redis_topologies.json"))
    args = p.parse_args()
    results: dict[str, Any] = {"machine": machine_info(), "runs": {}}
    for starter in (start_single, start_cluster):
        topo = starter()
        try:
            run = measure(topo, args.users, args.rate, args.seconds)
        finally:
            topo.stop()
        print(json.dumps(run), flush=True)
        results["runs"][run["topology"]] = run
    single, cluster = results["runs"]["single"], results["runs"]["cluster"]
    results["ratios_cluster_over_single"] = {
        key: round(cluster[key] / single[key], 3) if single[key] else None
        for key in (
            "p99_ms",
            "servers_cpu_ms_per_delivered_event",
            "redis_cpu_ms_per_published_event",
        )
    }
    Path(args.out).write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results["ratios_cluster_over_single"]), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
