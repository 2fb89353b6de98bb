"""Per-user-channel benchmark clients (run in their own process by bench_user_channels.py).

Reads a JSON list of connections ``[{"mode": "sse"|"ws", "path", "token"}, ...]`` and opens
each one as a raw asyncio protocol (uvloop when installed: the clients must cost less
than the server they measure), reusing bench/fanout_client.py's parsers: per received
event it records now - the publish timestamp carried in the event's data. Prints
``READY <n>`` once every connection is subscribed, waits for ``STOP`` on stdin, prints
one JSON line of figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.fanout_client import Recorder, SseClient, WsClient, _request, _wait_stop


async def run(args: argparse.Namespace, specs: list[dict[str, str]]) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    rec = Recorder()
    rec.target = len(specs)
    transports: list[asyncio.BaseTransport] = []
    gate = asyncio.Semaphore(50)  # handshakes at once: a ramp, not a stampede

    async def one(spec: dict[str, str]) -> None:
        headers = [f"Authorization: Bearer {spec['token']}"]
        req = _request(spec["mode"], args.host, args.port, spec["path"], headers)
        proto = SseClient if spec["mode"] == "sse" else WsClient
        async with gate:
            transport, _ = await loop.create_connection(
                lambda: proto(req, rec), args.host, args.port
            )
        transports.append(transport)

    t0 = time.monotonic()
    await asyncio.gather(*(one(s) for s in specs))
    try:
        await asyncio.wait_for(rec.all_connected.wait(), 120)
    except TimeoutError:
        print(f"connected {rec.connected}/{len(specs)}: {rec.samples[:2]}", file=sys.stderr)
    connect_s = time.monotonic() - t0
    print(f"READY {rec.connected}", flush=True)
    await _wait_stop()
    closed_early = rec.closed
    for t in transports:
        t.close()
    lat = sorted(rec.latencies)

    def pct(p: float) -> float | None:
        return round(lat[min(len(lat) - 1, int(p * len(lat)))], 2) if lat else None

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "client_cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "clients": len(specs),
        "connected": rec.connected,
        "errors": rec.errors,
        "error_samples": rec.samples[:2],
        "closed_early": closed_early,
        "connect_s": round(connect_s, 2),
        "events_received": len(lat),
        "latency_ms": {"p50": pct(0.5), "p99": pct(0.99), "max": pct(1.0)},
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--spec", required=True, help="JSON file: the connections to open")
    args = p.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    specs = json.loads(Path(args.spec).read_text())
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(run(args, specs))
        result["client_loop"] = "asyncio"
    else:
        result = uvloop.run(run(args, specs))
        result["client_loop"] = "uvloop"
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
