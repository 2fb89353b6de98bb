"""One WebSocket connection: a bounded outgoing queue drained by one writer task,
per-channel pump tasks fed by the hub, an optional chat task, all owned and cancelled here.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from server.write_now import has_room, write_now
from services.auth_user import AuthUser
from services.events import Event, EventHub, EventStats, SlowConsumer, Subscription
from services.events.access import ChannelAccess
from services.realtime_ports import ChatService, InteractionSink

log = logging.getLogger(__name__)

POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013


class _ConnLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, Any]:
        return f"[ws {self.extra['ws_id']}] {msg}", kwargs  # type: ignore[index]


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


class TokenBucket:
    """``rate`` tokens per second, bursts up to ``burst``."""

    def __init__(self, rate: float, burst: float) -> None:
        self._rate = rate
        self._burst = burst
        self._tokens = burst
        self._at = time.monotonic()

    def take(self) -> bool:
        """Spend one token if there is one."""
        now = time.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if self._tokens >= 1:
            self._tokens -= 1
            return True
        return False


@dataclass(frozen=True)
class WsDeps:
    """What a connection needs from the application."""

    hub: EventHub
    access: ChannelAccess
    stats: EventStats
    queue_size: int
    messages_per_s: float
    send_timeout_s: float
    chat: ChatService | None = None
    interactions: InteractionSink | None = None
    max_subscriptions: int = 32
    shed: Callable[[str], None] | None = None  # LoadShedder.check: raises while overloaded


class WsConnection:
    """Serves one authenticated WebSocket until it closes."""

    def __init__(
        self, ws: web.WebSocketResponse, request: web.Request, user: AuthUser, deps: WsDeps
    ) -> None:
        self.ws = ws
        self.user = user
        self.deps = deps
        self.id = uuid.uuid4().hex[:8]
        self.log = _ConnLog(log, {"ws_id": self.id})
        self._request = request
        self._out: deque[str] = deque()
        self._wake = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        self._close: tuple[int, str] | None = None
        self._bucket = TokenBucket(deps.messages_per_s, deps.messages_per_s * 2)
        self._rejected_in_row = 0
        self.pumps: dict[str, tuple[Subscription, asyncio.Task[None]]] = {}
        self._chat_task: asyncio.Task[None] | None = None
        self._writer_task: asyncio.Task[None] | None = None
        self._stopped: list[asyncio.Task[None]] = []
        self._idle = False  # the writer waits for work: direct writes keep the order

    # -- outgoing --------------------------------------------------------------------

    def send(self, message: dict[str, Any]) -> None:
        """Queue a message; a full queue closes the connection with 1013."""
        self.send_text(orjson.dumps(message).decode())

    def send_text(self, text: str) -> None:
        if self._close is not None:
            return
        if len(self._out) >= self.deps.queue_size:
            self.close_soon(TRY_AGAIN_LATER, "slow consumer")
            return
        self._out.append(text)
        if len(self._out) >= self.deps.queue_size // 2:
            self._room.clear()
        self._wake.set()

    def error(self, code: str, message: str, msg_id: Any = None) -> None:
        """Send an ``error`` message (the connection stays open)."""
        body: dict[str, Any] = {"type": "error", "code": code, "message": message}
        if msg_id is not None:
            body["id"] = msg_id
        self.send(body)

    def close_soon(self, code: int, reason: str) -> None:
        """Close with ``code`` once the writer gets to it; pending messages are dropped."""
        if self._close is None:
            self._close = (code, reason)
            self._out.clear()
            self._room.set()
            self._wake.set()

    @property
    def closing(self) -> bool:
        return self._close is not None

    async def _writer(self) -> None:
        ws = self.ws
        try:
            while True:
                while self._out and self._close is None:
                    text = self._out.popleft()
                    if len(self._out) < self.deps.queue_size // 2:
                        self._room.set()
                    async with asyncio.timeout(self.deps.send_timeout_s):
                        await ws.send_str(text)
                if self._close is not None:
                    code, reason = self._close
                    async with asyncio.timeout(self.deps.send_timeout_s):
                        await ws.close(code=code, message=reason.encode())
                    return
                self._wake.clear()
                self._idle = True
                try:
                    await self._wake.wait()
                finally:
                    self._idle = False
        except (ConnectionResetError, RuntimeError, TimeoutError) as exc:
            self.log.info("writer stopped (%s); aborting", exc.__class__.__name__)
            if self._request.transport is not None:
                self._request.transport.abort()

    # -- subscriptions ---------------------------------------------------------------

    async def _pump(self, name: str, sub: Subscription) -> None:
        try:
            while True:
                batch = await sub.next_batch()
                if not batch:
                    return
                for ev in batch:
                    self.send_text(ev.ws_text(name))
                await self._room.wait()  # replay of a long gap respects the queue bound
        except SlowConsumer as exc:
            self.log.info("slow consumer on %s at %s", name, exc.last_id)
            self.close_soon(TRY_AGAIN_LATER, "slow consumer; resume with last_event_id")

    def _direct_writer(self, name: str) -> Callable[[Event], bool]:
        def write(ev: Event) -> bool:
            if not self._idle or self._out or self._close is not None or self.ws.closed:
                return False
            if not has_room(self._request.transport):
                return False
            return write_now(self.ws.send_str(ev.ws_text(name)))

        return write

    def start_pump(self, name: str, sub: Subscription) -> None:
        self.stop_pump(name)
        sub.direct = self._direct_writer(name)
        task = asyncio.create_task(self._pump(name, sub), name=f"ws-{self.id}-{name}")
        self.pumps[name] = (sub, task)

    def stop_pump(self, name: str) -> bool:
        entry = self.pumps.pop(name, None)
        if entry is None:
            return False
        sub, task = entry
        sub.close()  # its pump sees the end and returns; awaited at shutdown
        self._stopped = [t for t in self._stopped if not t.done()]
        self._stopped.append(task)
        return True

    # -- chat ------------------------------------------------------------------------

    def start_chat(self, msg_id: Any, message: str) -> None:
        """Start a chat answer, cancelling (and closing upstream) a running one."""
        if self._chat_task is not None:
            self._chat_task.cancel()
        self._chat_task = asyncio.create_task(self._chat(msg_id, message), name="ws-chat")

    async def _chat(self, msg_id: Any, message: str) -> None:
        from server.ws.protocol import error_code  # the one domain-error → code mapping

        chat = self.deps.chat
        if chat is None:
            return
        source = "local"
        try:
            stream = chat.stream(self.user, message)
            async with contextlib.aclosing(stream) as deltas:  # type: ignore[type-var]
                async for delta, src, reset in deltas:
                    source = src
                    if reset:
                        self.send({"type": "chat.reset", "id": msg_id})
                    if delta:
                        self.send({"type": "chat.delta", "id": msg_id, "delta": delta})
            self.send({"type": "chat.done", "id": msg_id, "source": source})
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            code, text = error_code(exc)
            if code == "internal":
                self.log.exception("chat failed")
            self.error(code, text, msg_id)

    # -- lifecycle -------------------------------------------------------------------

    async def run(self) -> None:
        """Welcome, auto-subscribe, then read client messages until the socket closes."""
        from server.ws.protocol import handle_message

        self._writer_task = asyncio.create_task(self._writer(), name=f"ws-{self.id}-writer")
        try:
            self.send({"type": "welcome", "user_id": self.user.id, "server_time": now_iso()})
            await handle_message(self, '{"type": "subscribe", "channel": "recommendations"}')
            async for msg in self.ws:
                if self._close is not None:
                    break
                if msg.type == WSMsgType.TEXT:
                    if self._allow():
                        await handle_message(self, msg.data)
                elif msg.type == WSMsgType.BINARY:
                    self.error("bad_message", "Send text frames with one JSON object each.")
                elif msg.type == WSMsgType.ERROR:
                    break
        finally:
            await self._shutdown()

    def _allow(self) -> bool:
        if self._bucket.take():
            self._rejected_in_row = 0
            return True
        self._rejected_in_row += 1
        if self._rejected_in_row > self.deps.messages_per_s * 2:
            self.close_soon(POLICY_VIOLATION, "message rate limit exceeded")
        elif self._rejected_in_row == 1:
            self.error("rate_limited", "Too many messages; slow down.")
        return False

    async def _shutdown(self) -> None:
        for name in list(self.pumps):
            self.stop_pump(name)
        tasks = list(self._stopped)
        if self._chat_task is not None:
            self._chat_task.cancel()
            tasks.append(self._chat_task)
        writer = self._writer_task
        if writer is not None:
            if self._close is not None:  # let it send the close frame (bounded)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(writer), self.deps.send_timeout_s + 1)
            writer.cancel()
            tasks.append(writer)
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if not self.ws.closed:
            with contextlib.suppress(TimeoutError, ConnectionResetError, RuntimeError):
                async with asyncio.timeout(self.deps.send_timeout_s):
                    await self.ws.close()
