"""Fan-out benchmark clients (run in their own process by bench_fanout.py).

Modes: ``sse`` and ``ws`` open N raw connections (minimal asyncio protocols on uvloop when
installed, so the client costs little; ``ws`` answers the server's heartbeat pings) and
record, per received event, now - the publish timestamp in its data;
``pingpong`` runs C WebSocket clients doing ping → pong (or echo) round trips.
Prints ``READY <n>`` once connected, waits for ``STOP`` on stdin, prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import resource
import sys
import time
from typing import Any

import aiohttp

TS = b'"ts":'


def _ts(line: bytes) -> float | None:
    i = line.find(TS)
    if i < 0:
        return None
    j = i + len(TS)
    k = j
    while k < len(line) and line[k] in b"0123456789.eE-+ ":
        k += 1
    try:
        return float(line[j:k])
    except ValueError:
        return None


class Recorder:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.connected = 0
        self.closed = 0
        self.errors = 0
        self.samples: list[str] = []
        self.all_connected = asyncio.Event()
        self.target = 0

    def got(self, ts: float) -> None:
        self.latencies.append((time.time() - ts) * 1000)

    def up(self) -> None:
        self.connected += 1
        if self.connected >= self.target:
            self.all_connected.set()


class SseClient(asyncio.Protocol):
    def __init__(self, request: bytes, rec: Recorder) -> None:
        self.request, self.rec = request, rec
        self.buf = b""
        self.headers_done = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data
        if not self.headers_done:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.buf = buf
                return
            if not buf.startswith(b"HTTP/1.1 200"):
                self.rec.errors += 1
                self.rec.samples.append(buf[:600].decode(errors="replace"))
            self.headers_done = True
            self.rec.up()
            buf = buf[end + 4 :]
        cut = buf.rfind(b"\n")
        if cut < 0:
            self.buf = buf
            return
        now = time.time()
        lat = self.rec.latencies
        start = 0
        while (i := buf.find(TS, start, cut)) >= 0:
            j = i + len(TS)
            k = buf.find(b",", j, j + 32)
            lat.append((now - float(buf[j:k])) * 1000)
            start = k
        self.buf = buf[cut + 1 :]

    def connection_lost(self, exc: Exception | None) -> None:
        self.rec.closed += 1


class WsClient(asyncio.Protocol):
    """A minimal RFC 6455 client: handshake, then unmasked server text frames."""

    wait_subscribed = True  # FluentPro subscribes a socket right after ``welcome``

    def __init__(self, request: bytes, rec: Recorder) -> None:
        self.request, self.rec = request, rec
        self.buf = b""
        self.headers_done = False
        self.subscribed = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data
        if not self.headers_done:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.buf = buf
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                self.rec.errors += 1
            self.headers_done = True
            if not self.wait_subscribed:
                self.rec.up()
            buf = buf[end + 4 :]
        pos = 0
        n = len(buf)
        while n - pos >= 2:
            length = buf[pos + 1] & 0x7F
            head = 2
            if length == 126:
                if n - pos < 4:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 4], "big")
                head = 4
            elif length == 127:
                if n - pos < 10:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                head = 10
            if n - pos < head + length:
                break
            opcode = buf[pos] & 0x0F
            if opcode == 9 and self.transport is not None:
                # Answer the server's heartbeat like any real client (browsers do it on
                # their own); unanswered, the server rightly drops the socket.
                payload = buf[pos + head : pos + head + length]
                self.transport.write(b"\x8a%c\x00\x00\x00\x00%s" % (0x80 | length, payload))
            elif opcode == 1:
                i = buf.find(TS, pos + head, pos + head + length)
                if i >= 0:
                    j = i + len(TS)
                    self.rec.got(float(buf[j : buf.find(b",", j, j + 32)]))
                elif (
                    not self.subscribed and buf.find(b'"subscribed"', pos, pos + head + length) >= 0
                ):
                    self.subscribed = True  # the server subscribed us: now it counts
                    self.rec.up()
                elif buf.find(b'"error"', pos, pos + head + length) >= 0:
                    self.rec.errors += 1
                    self.rec.samples.append(buf[pos + head : pos + head + length].decode())
            pos += head + length
        self.buf = buf[pos:]

    def connection_lost(self, exc: Exception | None) -> None:
        self.rec.closed += 1


def _request(mode: str, host: str, port: int, path: str, headers: list[str]) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", *headers]
    if mode == "sse":
        lines += ["Accept: text/event-stream", "Cache-Control: no-cache"]
    else:
        key = base64.b64encode(os.urandom(16)).decode()
        lines += [
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
        ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _wait_stop() -> None:
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)


async def fanout(args: argparse.Namespace) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    rec = Recorder()
    rec.target = args.n
    transports: list[asyncio.BaseTransport] = []
    proto = SseClient if args.mode == "sse" else WsClient
    sem = asyncio.Semaphore(50)

    async def one() -> None:
        req = _request(args.mode, args.host, args.port, args.path, args.header)
        async with sem:
            transport, _ = await loop.create_connection(
                lambda: proto(req, rec), args.host, args.port
            )
            transports.append(transport)

    t0 = time.monotonic()
    await asyncio.gather(*(one() for _ in range(args.n)))
    try:
        await asyncio.wait_for(rec.all_connected.wait(), 60)
    except TimeoutError:  # measure with those that made it; the report says how many
        print(f"connected {rec.connected}/{args.n}: {rec.samples[:2]}", file=sys.stderr)
    connect_s = time.monotonic() - t0
    print(f"READY {rec.connected}", flush=True)
    await _wait_stop()
    closed_early = rec.closed  # before our own closes below
    for t in transports:
        t.close()
    lat = sorted(rec.latencies)

    def pct(p: float) -> float | None:
        return round(lat[min(len(lat) - 1, int(p * len(lat)))], 2) if lat else None

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "client_cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "clients": args.n,
        "connected": rec.connected,
        "errors": rec.errors,
        "error_samples": rec.samples[:2],
        "closed_early": closed_early,
        "connect_s": round(connect_s, 2),
        "events_received": len(lat),
        "latency_ms": {"p50": pct(0.5), "p99": pct(0.99), "max": pct(1.0)},
    }


async def pingpong(args: argparse.Namespace) -> dict[str, Any]:
    url = f"http://{args.host}:{args.port}{args.path}"
    headers = dict(h.split(": ", 1) for h in args.header)
    count = 0
    stop = asyncio.Event()
    ping = json.dumps({"type": "ping"})

    async def one(session: aiohttp.ClientSession, ready: asyncio.Event) -> None:
        nonlocal count
        async with session.ws_connect(url, headers=headers, compress=0) as ws:
            if args.skip:
                for _ in range(args.skip):
                    await ws.receive()
            await ready.wait()
            while not stop.is_set():
                await ws.send_str(ping)
                await ws.receive()
                count += 1

    ready = asyncio.Event()
    async with aiohttp.ClientSession() as session:
        tasks = [asyncio.create_task(one(session, ready)) for _ in range(args.n)]
        ready.set()
        t0 = time.monotonic()
        await asyncio.sleep(args.duration)
        stop.set()
        elapsed = time.monotonic() - t0
        done = count
        await asyncio.gather(*tasks, return_exceptions=True)
    return {"clients": args.n, "round_trips": done, "per_s": round(done / elapsed, 1)}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=("sse", "ws", "pingpong"))
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--path", required=True)
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--header", action="append", default=[])
    p.add_argument("--duration", type=float, default=5.0)
    p.add_argument("--skip", type=int, default=0, help="messages to read before pinging")
    args = p.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    main_coro = pingpong(args) if args.mode == "pingpong" else fanout(args)
    # The clients must not be the slowest stage of the pipeline: with asyncio's own loop,
    # 5,000 sockets x 10 events/s took more CPU here than the server's fan-out, and the
    # client's backlog, not delivery, set the latency tail. Every server of a run
    # (FluentPro, the echo server, the FastAPI peer) meets the same client.
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(main_coro)
        result["client_loop"] = "asyncio"
    else:
        result = uvloop.run(main_coro)
        result["client_loop"] = "uvloop"
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
