"""Traffic for the failover tests: REST callers, task creators, SSE and WebSocket watchers.

Every answer is recorded (status, time taken, Retry-After) so a test can say afterwards:
no 500, no request past its deadline, 503s carry Retry-After, every acknowledged task
exists, every watcher saw every event of its task or was told ``reset``.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tests.helpers import DEFAULT_PASSWORD
from tests.task_helpers import DESCRIPTIONS, FINAL_EVENTS, read_events
from tests.topologies.conftest import App

REQUEST_DEADLINE_S = 10.0  # a request that takes longer counts as a hang
RETRY_PAUSE_S = 0.2  # clients here retry faster than Retry-After asks: the test is bounded
WATCH_WITHIN_S = 60.0  # a task of 24 descriptions takes well under a second


@dataclass
class Answer:
    what: str
    status: int  # 0: no HTTP answer (connection refused/reset, or past the deadline)
    elapsed_s: float
    retry_after: str | None
    at: float


@dataclass
class Watch:
    """What one SSE or WebSocket watcher saw of one task."""

    task_id: str
    via: str = ""
    ids: list[str] = field(default_factory=list)
    final: str | None = None
    resets: int = 0
    reconnects: int = 0
    timed_out: bool = False


@dataclass
class Traffic:
    apps: list[App]
    http: aiohttp.ClientSession
    headers: dict[str, str] = field(default_factory=dict)
    email: str = ""
    answers: list[Answer] = field(default_factory=list)
    tasks: list[str] = field(default_factory=list)
    watches: list[Watch] = field(default_factory=list)
    stopping: asyncio.Event = field(default_factory=asyncio.Event)

    async def setup(self) -> None:
        self.email = f"fo-{uuid.uuid4().hex[:12]}@example.com"
        r = await self.http.post(
            f"{self.apps[0].url}/api/v1/auth/register",
            json={"email": self.email, "password": DEFAULT_PASSWORD},
        )
        assert r.status == 201, await r.text()
        self.headers = {"Authorization": f"Bearer {(await r.json())['token']}"}

    async def call(self, what: str, method: str, url: str, **kwargs: Any) -> tuple[int, Any]:
        start = time.monotonic()
        status, body, retry_after = 0, None, None
        try:
            async with asyncio.timeout(REQUEST_DEADLINE_S):
                async with self.http.request(method, url, **kwargs) as r:
                    status, retry_after = r.status, r.headers.get("Retry-After")
                    body = await r.json() if r.content_type.endswith("json") else None
        except (aiohttp.ClientError, TimeoutError):
            pass
        self.answers.append(Answer(what, status, time.monotonic() - start, retry_after, start))
        return status, body

    # -- the loops -------------------------------------------------------------------------
    async def rest_loop(self, app: App) -> None:
        """Who am I (session cache), rate-limited anonymous calls, a throttled login."""
        while not self.stopping.is_set():
            await self.call("me", "GET", f"{app.url}/api/v1/me", headers=self.headers)
            await self.call(
                "analyze",
                "POST",
                f"{app.url}/api/v1/passwords/analyze",
                json={"password": "a-fairly-ordinary-passphrase"},
            )
            await self.call(
                "login",
                "POST",
                f"{app.url}/api/v1/auth/login",
                json={"email": self.email, "password": DEFAULT_PASSWORD},
            )
            await asyncio.sleep(0.05)

    async def task_loop(self, app: App, watchers: list[App]) -> None:
        """Create a small task now and then; watch each over SSE and WebSocket."""
        spawned: list[asyncio.Task[None]] = []
        while not self.stopping.is_set():
            status, body = await self.call(
                "create task",
                "POST",
                f"{app.url}/api/v1/tasks",
                json={"kind": "batch_role_match", "params": {"job_descriptions": DESCRIPTIONS * 4}},
                headers=self.headers,
            )
            if status == 202:
                task_id = body["task_id"]
                self.tasks.append(task_id)
                for i, watcher in enumerate(watchers):
                    watch = Watch(task_id, via=f"{('sse', 'ws')[i % 2]} on {watcher.url}")
                    self.watches.append(watch)
                    run = self.watch_sse if i % 2 == 0 else self.watch_ws
                    spawned.append(asyncio.create_task(run(watcher, watch)))
            await asyncio.sleep(0.4)
        await asyncio.gather(*spawned)

    async def watch_sse(self, app: App, watch: Watch) -> None:
        """Follow a task's SSE stream to its final event, reconnecting with Last-Event-ID."""
        url = f"{app.url}/api/v1/tasks/{watch.task_id}/events"
        try:
            async with asyncio.timeout(WATCH_WITHIN_S):
                while watch.final is None:
                    await self._sse_once(url, watch)
        except TimeoutError:
            watch.timed_out = True

    async def _sse_once(self, url: str, watch: Watch) -> None:
        headers = dict(self.headers)
        if watch.ids:
            headers["Last-Event-ID"] = watch.ids[-1]
        try:
            async with self.http.get(url, headers=headers) as resp:
                if resp.status == 200:
                    for event in await read_events(resp):
                        self._saw(watch, event.event, event.id)
        except aiohttp.ClientError:
            pass
        if watch.final is None:
            watch.reconnects += 1
            await asyncio.sleep(RETRY_PAUSE_S)

    async def watch_ws(self, app: App, watch: Watch) -> None:
        """Follow a task's channel over WebSocket, resubscribing with last_event_id."""
        try:
            async with asyncio.timeout(WATCH_WITHIN_S):
                while watch.final is None:
                    await self._ws_once(app, watch)
        except TimeoutError:
            watch.timed_out = True

    async def _ws_once(self, app: App, watch: Watch) -> None:
        channel = f"tasks:{watch.task_id}"
        try:
            async with self.http.ws_connect(f"{app.url}/ws", headers=self.headers) as ws:
                await ws.send_json(
                    {
                        "type": "subscribe",
                        "id": channel,
                        "channel": channel,
                        "last_event_id": watch.ids[-1] if watch.ids else "0-0",
                    }
                )
                async for msg in ws:
                    if msg.type != aiohttp.WSMsgType.TEXT:
                        break
                    data = msg.json()
                    if data["type"] == "error" and data.get("id") == channel:
                        break  # the subscription failed (Redis unavailable): again
                    if data.get("channel") != channel:
                        continue
                    if data["type"] == "reset":
                        watch.resets += 1
                    elif data["type"] == "event":
                        self._saw(watch, data["event"], data.get("id"))
                    if watch.final is not None:
                        break
        except aiohttp.ClientError:
            pass
        if watch.final is None:
            watch.reconnects += 1
            await asyncio.sleep(RETRY_PAUSE_S)

    @staticmethod
    def _saw(watch: Watch, event: str, event_id: str | None) -> None:
        if event == "reset":
            watch.resets += 1
            return
        if event in FINAL_EVENTS:
            watch.final = event
        if event_id:
            watch.ids.append(event_id)

    # -- reading the record ----------------------------------------------------------------
    def statuses(self, since: float = 0.0) -> dict[int, int]:
        out: dict[int, int] = {}
        for a in self.answers:
            if a.at >= since:
                out[a.status] = out.get(a.status, 0) + 1
        return out
