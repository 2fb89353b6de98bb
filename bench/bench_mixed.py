"""Mixed load on one server process: is the event loop still responsive?

One ``python -m server`` process; the load comes from other processes on loopback:
- REST: wrk on ``GET /api/v1/me`` with a bearer token;
- 2,000 SSE streams (``/api/v1/onboarding/progress/stream``) and 500 WebSockets
  (``/ws``, subscribed to ``recommendations`` and ``onboarding``, pinging every 5 s),
  held by a separate Python process (this module with ``--clients``);
- logins, a few per second (real bcrypt cost), from that same process;
for ``--duration`` seconds (60 by default). The server's own loop-lag monitor is read
as an administrator (``/api/v1/system/status`` every second) and its lag histogram is
scraped from ``/metrics`` before and after the load, so the p99 goal is checked over
exactly the loaded window. py-spy samples the server for 10 s mid-run; the top frames
go into the notes (where the lag comes from).

Goals: loop lag p99 <= 10 ms; no error responses anywhere.

    python -m bench.bench_mixed [--duration 60] [--out mixed]
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import math
import os
import resource
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from typing import Any

from bench.bench_api import _post, app_env
from bench.common import (
    free_port,
    machine_info,
    profile,
    server_process,
    services,
    write_result,
    wrk,
)

PASSWORD = "orbit velvet canyon 42 lantern"
LAG_GOAL_MS = 10.0
PROFILE_S = 10


# ---------------------------------------------------------------- the clients process


class Clients:
    """SSE streams, WebSockets and logins against ``base``; counts every failure."""

    def __init__(self, base: str, args: argparse.Namespace) -> None:
        self.base, self.args = base, args
        self.errors: collections.Counter[str] = collections.Counter()
        self.counts: collections.Counter[str] = collections.Counter()
        self.login_ms: list[float] = []
        self.stopping = False
        self._expected = args.sse + args.ws
        self._settled = 0
        self.all_settled = asyncio.Event()  # every stream/socket opened or failed to

    def _settle(self) -> None:
        self._settled += 1
        if self._settled >= self._expected:
            self.all_settled.set()

    async def run(self) -> dict[str, Any]:
        import aiohttp

        connector = aiohttp.TCPConnector(limit=0)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=30)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as s:
            users = await self._register(s)
            gate = asyncio.Semaphore(100)  # opening ramp: at most 100 handshakes at once
            streams = [
                asyncio.create_task(self._sse(s, users[i % len(users)], gate))
                for i in range(self.args.sse)
            ]
            sockets = [
                asyncio.create_task(self._ws(s, users[i % len(users)], gate))
                for i in range(self.args.ws)
            ]
            try:
                await asyncio.wait_for(self.all_settled.wait(), 120)
            except TimeoutError:
                self.errors["not_all_connected_in_120s"] += 1
            print(json.dumps({"ready": dict(self.counts)}), flush=True)
            logins = asyncio.create_task(self._logins(s, users))
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
            self.stopping = True
            for t in (logins, *streams, *sockets):
                t.cancel()
            await asyncio.gather(logins, *streams, *sockets, return_exceptions=True)
        lat = sorted(self.login_ms)
        return {
            "counts": dict(self.counts),
            "errors": dict(self.errors),
            "login_p50_ms": lat[len(lat) // 2] if lat else None,
            "login_p99_ms": lat[min(len(lat) - 1, int(0.99 * len(lat)))] if lat else None,
        }

    async def _register(self, s: Any) -> list[dict[str, str]]:
        gate = asyncio.Semaphore(4)

        async def one(n: int) -> dict[str, str]:
            email = f"mixed-{uuid.uuid4().hex[:10]}@example.com"
            body = {"email": email, "password": PASSWORD, "display_name": f"Mixed {n}"}
            async with gate, s.post(f"{self.base}/api/v1/auth/register", json=body) as r:
                if r.status != 201:
                    raise SystemExit(f"register failed: {r.status} {await r.text()}")
                return {"email": email, "token": (await r.json())["token"]}

        return list(await asyncio.gather(*(one(n) for n in range(self.args.users))))

    async def _sse(self, s: Any, user: dict[str, str], gate: asyncio.Semaphore) -> None:
        headers = {"Authorization": f"Bearer {user['token']}", "Accept": "text/event-stream"}
        url = f"{self.base}/api/v1/onboarding/progress/stream"
        settled = False
        try:
            async with gate:
                resp = await s.get(url, headers=headers)
            async with resp:
                settled = True
                self._settle()
                if resp.status != 200:
                    self.errors[f"sse_status_{resp.status}"] += 1
                    return
                self.counts["sse_open"] += 1
                async for _line in resp.content:
                    self.counts["sse_lines"] += 1
            if not self.stopping:
                self.errors["sse_closed_by_server"] += 1
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.errors[f"sse_{exc.__class__.__name__}"] += 1
            if not settled:
                self._settle()

    async def _ws(self, s: Any, user: dict[str, str], gate: asyncio.Semaphore) -> None:
        import aiohttp

        url = self.base.replace("http", "ws", 1) + "/ws"
        settled = False
        try:
            async with gate:
                ws = await s.ws_connect(url, headers={"Authorization": f"Bearer {user['token']}"})
            async with ws:
                settled = True
                self._settle()
                await ws.send_json({"type": "subscribe", "channel": "onboarding"})
                self.counts["ws_open"] += 1
                pinger = asyncio.create_task(self._ping(ws))
                try:
                    async for msg in ws:
                        if msg.type != aiohttp.WSMsgType.TEXT:
                            break
                        kind = json.loads(msg.data).get("type")
                        self.counts[f"ws_{kind}"] += 1
                        if kind == "error":
                            self.errors["ws_error_message"] += 1
                finally:
                    pinger.cancel()
            if not self.stopping:
                self.errors["ws_closed_by_server"] += 1
        except asyncio.CancelledError:
            raise
        except aiohttp.WSServerHandshakeError as exc:
            self.errors[f"ws_status_{exc.status}"] += 1
        except Exception as exc:
            self.errors[f"ws_{exc.__class__.__name__}"] += 1
        if not settled:
            self._settle()

    async def _ping(self, ws: Any) -> None:
        await asyncio.sleep(5 * (hash(id(ws)) % 1000) / 1000)  # spread the pings out
        while True:
            await ws.send_json({"type": "ping"})
            await asyncio.sleep(5)

    async def _logins(self, s: Any, users: list[dict[str, str]]) -> None:
        period = 1 / self.args.logins_per_s
        n = 0
        while True:
            user = users[n % len(users)]
            n += 1
            asyncio.create_task(self._login(s, user["email"]))  # noqa: RUF006 - awaited via counts
            await asyncio.sleep(period)

    async def _login(self, s: Any, email: str) -> None:
        started = time.perf_counter()
        body = {"email": email, "password": PASSWORD}
        try:
            async with s.post(f"{self.base}/api/v1/auth/login", json=body) as r:
                await r.read()
                if r.status != 200:
                    self.errors[f"login_status_{r.status}"] += 1
                    return
            self.counts["logins"] += 1
            self.login_ms.append((time.perf_counter() - started) * 1000)
        except Exception as exc:
            if not self.stopping:
                self.errors[f"login_{exc.__class__.__name__}"] += 1


def clients_main(args: argparse.Namespace) -> None:
    report = asyncio.run(Clients(args.base, args).run())
    print(json.dumps({"report": report}), flush=True)


# ---------------------------------------------------------------- the orchestrator


def _get(url: str, token: str) -> Any:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        body = r.read()
    return json.loads(body) if body[:1] in (b"{", b"[") else body.decode()


def lag_buckets(metrics_text: str) -> dict[float, float]:
    """The loop-lag histogram's cumulative buckets {upper bound s: count}."""
    found: dict[float, float] = {}
    for line in metrics_text.splitlines():
        if line.startswith("fluentpro_event_loop_lag_seconds_bucket{"):
            le = line.split('le="', 1)[1].split('"', 1)[0]
            found[math.inf if le == "+Inf" else float(le)] = float(line.rsplit(" ", 1)[1])
    return found


def window_lag(before: dict[float, float], after: dict[float, float]) -> dict[str, Any]:
    """From histogram deltas: samples, the share <= 10 ms, and the p99's bucket bound."""
    delta = {le: after.get(le, 0) - before.get(le, 0) for le in sorted(after)}
    samples = delta.get(math.inf, 0)
    if not samples:
        return {"samples": 0}
    p99_bound = next(le for le, n in delta.items() if n >= 0.99 * samples)
    return {
        "samples": int(samples),
        "share_le_10ms": round(delta.get(LAG_GOAL_MS / 1000, 0) / samples, 4),
        "p99_le_ms": None if math.isinf(p99_bound) else p99_bound * 1000,
        "over_25ms": int(samples - delta.get(0.025, 0)),
    }


def notes(p99_ms: float, window: dict[str, Any], spy: dict[str, Any]) -> str:
    """One paragraph: the lag figures and the profile's top frames (where lag comes from)."""
    text = (
        f"Loop lag under load: status p99 {p99_ms} ms (last 600 samples); measured window "
        f"{window}. "
    )
    if spy.get("loop_top_self"):
        top = ", ".join(f"{f} {share:.0%}" for f, share in spy["loop_top_self"][:4])
        own = ", ".join(f"{f} {share:.0%}" for f, share in spy["loop_top_own_code_inclusive"][3:7])
        others = ", ".join(f"{f} {share:.2f} cores" for f, share in spy["other_threads_top_self"])
        text += (
            f"py-spy after the window: loop thread busy {spy['loop_thread_busy_share']:.0%}; "
            f"top self frames: {top}; own code (inclusive): {own}; other threads: {others}."
        )
    return text


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--duration", type=int, default=60)
    p.add_argument("--out", default="mixed")
    p.add_argument("--sse", type=int, default=2000)
    p.add_argument("--ws", type=int, default=500)
    p.add_argument("--users", type=int, default=50)
    p.add_argument("--logins-per-s", type=float, default=3.0)
    p.add_argument("--rest-connections", type=int, default=16)
    p.add_argument("--profile-s", type=int, default=PROFILE_S, help="py-spy after the window")
    p.add_argument("--clients", action="store_true", help="(internal) be the clients process")
    p.add_argument("--base", help="(internal) the server's base URL")
    args = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 16384)), hard))
    if args.clients:
        clients_main(args)
        return
    orchestrate(args)


def orchestrate(args: argparse.Namespace) -> None:
    database_url, redis_url = services()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = app_env(database_url, redis_url, port)
    env["FLUENTPRO_LIMITS_STREAMS_PER_USER"] = str(args.sse // args.users + 10)
    env["FLUENTPRO_LIMITS_WS_PER_USER"] = str(args.ws // args.users + 10)
    results: dict[str, Any] = {"machine": machine_info(), "figures": {}, "goals": {}}
    fig = results["figures"]
    fig["load"] = {
        "duration_s": args.duration,
        "sse": args.sse,
        "ws": args.ws,
        "users": args.users,
        "logins_per_s": args.logins_per_s,
        "rest_connections": args.rest_connections,
    }
    admin_email = f"mixed-admin-{uuid.uuid4().hex[:8]}@example.com"
    with server_process(["-m", "server"], env=env, health=f"{base}/health/ready") as server:
        subprocess.run(
            [sys.executable, "-m", "server", "create-admin", admin_email],
            input=PASSWORD + "\n",
            text=True,
            check=True,
            env={**os.environ, **env},
            capture_output=True,
            timeout=60,
        )
        status, body = _post(
            f"{base}/api/v1/auth/login", {"email": admin_email, "password": PASSWORD}
        )
        if status != 200:
            raise SystemExit(f"admin login failed: {status} {body}")
        admin = body["token"]
        fig["idle_lag_ms"] = _get(f"{base}/api/v1/system/status", admin)["loop_lag_ms"]

        clients = subprocess.Popen(
            [
                *(sys.executable, "-m", "bench.bench_mixed", "--clients", "--base", base),
                *("--sse", str(args.sse), "--ws", str(args.ws), "--users", str(args.users)),
                *("--logins-per-s", str(args.logins_per_s)),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        if clients.stdin is None or clients.stdout is None:
            raise SystemExit("the clients process has no pipes")
        fig["clients_ready"] = json.loads(clients.stdout.readline() or "{}").get("ready")
        before = lag_buckets(_get(f"{base}/metrics", admin))
        rest: dict[str, Any] = {}
        loader = threading.Thread(
            target=lambda: rest.update(
                wrk(
                    f"{base}/api/v1/me",
                    connections=args.rest_connections,
                    duration_s=args.duration + args.profile_s,
                    headers={"Authorization": f"Bearer {admin}"},
                )
            )
        )
        started = time.monotonic()
        loader.start()
        polls: list[dict[str, Any]] = []
        poll_errors = 0
        while time.monotonic() - started < args.duration:
            elapsed = time.monotonic() - started
            try:
                snap = _get(f"{base}/api/v1/system/status", admin)
                polls.append({"t": round(elapsed, 1), **snap["loop_lag_ms"], **snap["connections"]})
            except OSError:
                poll_errors += 1
            time.sleep(1)
        # The measured window ends here; the same load goes on while py-spy samples
        # (attaching it perturbs the process, so it stays out of the measured window).
        after_text = _get(f"{base}/metrics", admin)
        final = _get(f"{base}/api/v1/system/status", admin)
        spy = profile(server.pid, args.profile_s, "mixed") if args.profile_s else {}
        loader.join(args.duration + args.profile_s + 60)
        clients.stdin.write("stop\n")
        clients.stdin.flush()
        out, _ = clients.communicate(timeout=120)
        report = json.loads(out.strip().splitlines()[-1])["report"] if out.strip() else {}

    window = window_lag(before, lag_buckets(after_text))
    fig["rest_me"] = rest
    fig["clients"] = report
    fig["status_final"] = {k: final[k] for k in ("loop_lag_ms", "connections", "requests_per_s")}
    fig["lag_window"] = window
    fig["lag_polls"] = polls
    fig["status_poll_errors"] = poll_errors
    errors = int(rest.get("errors", 1)) + sum((report.get("errors") or {}).values()) + poll_errors
    fig["error_responses"] = errors
    p99_status = final["loop_lag_ms"]["p99"]
    results["goals"]["lag_p99_le_10ms"] = window.get("share_le_10ms", 0) >= 0.99
    results["goals"]["no_error_responses"] = errors == 0
    results["profile"] = spy
    results["notes"] = notes(p99_status, window, spy)
    path = write_result(args.out, results)
    print(json.dumps({"goals": results["goals"], "lag_window": window, "errors": errors}))
    print(f"written {path}")


if __name__ == "__main__":
    main()
