"""One WebSocket connection: direct writes while caught up, a bounded outgoing queue
drained by a writer task only while there is a backlog, live subscriptions fed by the hub
without tasks, an optional chat task, all owned and cancelled here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import orjson
from aiohttp import WSMsgType, web

from handlers.conn_registry import DIRECT_LIMIT
from handlers.errors import error_code
from handlers.ws.frames import event_frame, event_text, text_frame
from services.auth_user import AuthUser
from services.clock import now_iso
from services.events import Event, EventHub, EventStats, SlowConsumer, Subscription
from services.events.access import ChannelAccess
from services.realtime_ports import ChatService, InteractionSink

log = logging.getLogger(__name__)

POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013


class _ConnLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, Any]:
        return f"[ws {self.extra['ws_id']}] {msg}", kwargs  # type: ignore[index]


class TokenBucket:
    """``rate`` tokens per second, bursts up to ``burst``."""

    __slots__ = ("_at", "_burst", "_rate", "_tokens")

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


Dispatch = Callable[["WsConnection", str], Awaitable[None]]


async def _no_commands(conn: WsConnection, text: str) -> None:
    conn.error("unknown_type", "This connection accepts no commands.")


@dataclass(frozen=True, slots=True)
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
    # Handles one client text frame: the protocol's command table (handlers/ws/protocol.py),
    # handed in so that the connection never imports the commands.
    dispatch: Dispatch = _no_commands


_batch_cache: list[Any] = [None, None, b""]  # events list, channel name, frames of the last batch


def _batch_frames(events: list[Event], name: str) -> bytes:
    """The frames of a batch, built once for all the sockets the hub hands it to."""
    cache = _batch_cache
    if cache[0] is events and cache[1] == name:
        cached: bytes = cache[2]
        return cached
    data = b"".join(event_frame(ev, name) for ev in events)
    cache[0], cache[1], cache[2] = events, name, data
    return data


class _Pump:
    """One subscription delivered on one socket under one name: the hub's direct writers
    and the feed callback are bound methods of this one small object (thousands of
    sockets each hold one; a ``functools.partial`` per callback cost ~0.25 KB each)."""

    __slots__ = ("conn", "name", "sub")

    def __init__(self, conn: WsConnection, name: str, sub: Subscription) -> None:
        self.conn = conn
        self.name = name
        self.sub = sub

    def write_event(self, ev: Event) -> bool:
        return self.conn.write_event(self.name, ev)

    def write_events(self, events: list[Event]) -> bool:
        return self.conn.write_events(self.name, events)

    def dropped(self) -> None:
        self.conn._dropped(self.name, self.sub)

    def feed(self, _: object = None) -> None:
        self.conn._feed(self)


class WsConnection:
    """Serves one authenticated WebSocket until it closes.

    Outgoing messages are written straight to the transport while nothing is queued and
    the transport has room (events as frames encoded once per fan-out, shared by every
    socket). Otherwise they wait in a bounded queue drained by a writer task that exists
    only while there is a backlog; a full queue closes the socket with 1013. Live
    subscriptions have no task either: the hub writes to them directly, and what it
    queues (backpressure) is fed through a callback on the subscription's wait future.
    Only a replay from the stream runs in a task.
    """

    # Thousands of these live at once: slots, and no task, queue or event until needed.
    __slots__ = (
        "__weakref__",
        "_bucket",
        "_chat_task",
        "_close",
        "_half",
        "_id",
        "_out",
        "_raw_ok",
        "_rejected_in_row",
        "_request",
        "_room",
        "_tasks",
        "_transport",
        "_writer_task",
        "deps",
        "pumps",
        "user",
        "ws",
    )

    def __init__(
        self, ws: web.WebSocketResponse, request: web.Request, user: AuthUser, deps: WsDeps
    ) -> None:
        self.ws = ws
        self.user = user
        self.deps = deps
        self._id: str | None = None
        self._request = request
        self._transport: asyncio.Transport | None = request.transport  # type: ignore[assignment]
        # Direct writes need frames the way this socket sends them: uncompressed.
        self._raw_ok = not ws.compress
        self._out: deque[str] | None = None  # the backlog; None while writes go direct
        self._half = max(1, deps.queue_size // 2)
        self._room: list[Callable[[], None]] | None = None  # run once the backlog shrinks
        self._close: tuple[int, str] | None = None
        self._bucket = TokenBucket(deps.messages_per_s, deps.messages_per_s * 2)
        self._rejected_in_row = 0
        self.pumps: dict[str, Subscription] = {}
        self._tasks: set[asyncio.Task[None]] | None = None  # replays from the stream
        self._chat_task: asyncio.Task[None] | None = None
        self._writer_task: asyncio.Task[None] | None = None

    @property
    def id(self) -> str:
        if self._id is None:
            self._id = uuid.uuid4().hex[:8]
        return self._id

    @property
    def log(self) -> _ConnLog:
        return _ConnLog(log, {"ws_id": self.id})

    # -- outgoing --------------------------------------------------------------------

    def send(self, message: dict[str, Any]) -> None:
        """Send a message (direct or queued); a full queue closes the connection with 1013."""
        self.send_text(orjson.dumps(message).decode())

    def send_text(self, text: str) -> None:
        if self._close is not None:
            return
        if self._out is None and self._write_raw(text_frame(text.encode())):
            return
        self._enqueue(text)

    def _send_event(self, name: str, ev: Event) -> None:
        if self._close is not None:
            return
        if self._out is None and self._write_raw(event_frame(ev, name)):
            return
        self._enqueue(event_text(ev, name))

    def write_event(self, name: str, ev: Event) -> bool:
        """The hub's direct writer: one event now, or False (it is queued then)."""
        return self._write_raw(event_frame(ev, name))

    def write_events(self, name: str, events: list[Event]) -> bool:
        """The hub's direct writer for a batch read together: one write, or False."""
        return self._write_raw(_batch_frames(events, name))

    def _write_raw(self, frames: bytes) -> bool:
        """Write whole frames to the transport now, if nothing is queued before them, the
        socket is not closing and the transport has room; else False."""
        if self._out is not None or self._close is not None or not self._raw_ok:
            return False
        transport = self._transport
        if (
            transport is None
            or self.ws.closed
            or transport.is_closing()
            or transport.get_write_buffer_size() > DIRECT_LIMIT
        ):
            return False
        transport.write(frames)
        return True

    def _enqueue(self, text: str) -> None:
        out = self._out
        if out is None:
            out = self._out = deque()
        if len(out) >= self.deps.queue_size:
            self.close_soon(TRY_AGAIN_LATER, "slow consumer")
            return
        out.append(text)
        self._start_writer()

    def _start_writer(self) -> None:
        task = self._writer_task
        if task is None or task.done():
            self._writer_task = asyncio.get_running_loop().create_task(
                self._writer(), name=f"ws-{self.id}-writer"
            )

    def _has_room(self) -> bool:
        return self._out is None or len(self._out) < self._half

    def _when_room(self, callback: Callable[[], None]) -> None:
        if self._room is None:
            self._room = []
        self._room.append(callback)

    def _release_room(self) -> None:
        waiting, self._room = self._room, None
        for callback in waiting or ():
            callback()

    async def _wait_room(self) -> None:
        while not self._has_room() and self._close is None:
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._when_room(partial(_resolve, fut))
            await fut

    def error(self, code: str, message: str, msg_id: Any = None, *, errors: Any = None) -> None:
        """Send an ``error`` message (the connection stays open); ``errors`` holds the
        per-field messages of an ``invalid_fields`` error."""
        body: dict[str, Any] = {"type": "error", "code": code, "message": message}
        if msg_id is not None:
            body["id"] = msg_id
        if errors:
            body["errors"] = errors
        self.send(body)

    def close_soon(self, code: int, reason: str) -> None:
        """Close with ``code`` once the writer gets to it; pending messages are dropped."""
        if self._close is None:
            self._close = (code, reason)
            if self._out is not None:
                self._out.clear()
            self._release_room()
            self._start_writer()

    def session_expired(self) -> None:
        self.close_soon(POLICY_VIOLATION, "session expired")

    def session_revoked(self) -> None:
        self.close_soon(POLICY_VIOLATION, "session revoked")

    @property
    def closing(self) -> bool:
        return self._close is not None

    async def _writer(self) -> None:
        """Drain the backlog, then end (direct writes resume); or send the close frame."""
        ws = self.ws
        try:
            while self._close is None:
                out = self._out
                if not out:
                    self._out = None  # direct writes may resume...
                    self._release_room()
                    if not self._out:  # ...unless a room callback queued again
                        break
                    continue
                text = out.popleft()
                async with asyncio.timeout(self.deps.send_timeout_s):
                    await ws.send_str(text)
                if len(out) < self._half:
                    self._release_room()
            if self._close is not None:
                code, reason = self._close
                async with asyncio.timeout(self.deps.send_timeout_s):
                    await ws.close(code=code, message=reason.encode())
        except (ConnectionResetError, RuntimeError, TimeoutError) as exc:
            self.log.info("writer stopped (%s); aborting", exc.__class__.__name__)
            if self._request.transport is not None:
                self._request.transport.abort()

    # -- subscriptions ---------------------------------------------------------------

    def start_pump(self, name: str, sub: Subscription) -> None:
        """Deliver ``sub`` on this socket under ``name`` (replay first, then live)."""
        self.stop_pump(name)
        pump = _Pump(self, name, sub)
        sub.direct, sub.direct_batch = pump.write_event, pump.write_events
        sub.on_slow = pump.dropped  # 1013 at once, not at next room
        self.pumps[name] = sub
        self._feed(pump)

    def stop_pump(self, name: str) -> bool:
        sub = self.pumps.pop(name, None)
        if sub is None:
            return False
        sub.close()  # a replay in progress sees the end and returns
        return True

    def _feed(self, pump: _Pump) -> None:
        """Send what the subscription queued (the hub could not write it directly), then
        wait for more without a task: a callback on its wait future."""
        name, sub = pump.name, pump.sub
        if self._close is not None or self.pumps.get(name) is not sub:
            return
        batch = sub.poll()
        if batch is None:  # replaying, closed or dropped
            if sub.dropped:
                self._slow(name, sub.last_id)
            elif sub.replaying:
                self._start_replay(pump)
            return
        for ev in batch:
            self._send_event(name, ev)
        if self._close is not None:
            return
        if self._has_room():
            sub.wait_future().add_done_callback(pump.feed)
        else:  # the backlog respects the queue bound: resume once it shrinks
            self._when_room(pump.feed)

    def _start_replay(self, pump: _Pump) -> None:
        if self._tasks is None:
            self._tasks = set()
        task = asyncio.get_running_loop().create_task(
            self._replay(pump), name=f"ws-{self.id}-{pump.name}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _replay(self, pump: _Pump) -> None:
        name, sub = pump.name, pump.sub
        try:
            while sub.replaying and self.pumps.get(name) is sub and self._close is None:
                batch = await sub.next_batch()
                if not batch:
                    return
                for ev in batch:
                    self._send_event(name, ev)
                await self._wait_room()  # replay of a long gap respects the queue bound
        except SlowConsumer as exc:
            self._slow(name, exc.last_id)
            return
        self._feed(pump)  # caught up: live from here on, without a task

    def _dropped(self, name: str, sub: Subscription) -> None:
        if self.pumps.get(name) is sub:
            self._slow(name, sub.last_id)

    def _slow(self, name: str, last_id: str | None) -> None:
        self.log.info("slow consumer on %s at %s", name, last_id)
        self.close_soon(TRY_AGAIN_LATER, "slow consumer; resume with last_event_id")

    # -- chat ------------------------------------------------------------------------

    def start_chat(self, msg_id: Any, message: str) -> None:
        """Start a chat answer, cancelling (and closing upstream) a running one."""
        if self._chat_task is not None:
            self._chat_task.cancel()
        self._chat_task = asyncio.create_task(self._chat(msg_id, message), name="ws-chat")

    async def _chat(self, msg_id: Any, message: str) -> None:
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
        dispatch = self.deps.dispatch
        try:
            self.send({"type": "welcome", "user_id": self.user.id, "server_time": now_iso()})
            await dispatch(self, '{"type": "subscribe", "channel": "recommendations"}')
            async for msg in self.ws:
                if self._close is not None:
                    break
                if msg.type == WSMsgType.TEXT:
                    if self._allow():
                        await dispatch(self, msg.data)
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
        tasks = list(self._tasks or ())
        for task in tasks:
            task.cancel()
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
        self._release_room()
        if not self.ws.closed:
            with contextlib.suppress(TimeoutError, ConnectionResetError, RuntimeError):
                async with asyncio.timeout(self.deps.send_timeout_s):
                    await self.ws.close()


def _resolve(fut: asyncio.Future[None]) -> None:
    if not fut.done():
        fut.set_result(None)
