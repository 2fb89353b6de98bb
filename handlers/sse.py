"""SSE plumbing shared by every text/event-stream route (built on aiohttp-sse).

``sse_channel_stream`` serves one bus channel: ``retry:`` first, ``: ping`` comments,
Last-Event-ID resume through the hub (``reset`` when out of retention), a per-user cap,
a registry of open streams ended on shutdown, revocation, and release of the
subscription when the client goes away (the ping notices within one interval).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import orjson
from aiohttp import web
from aiohttp.abc import AbstractStreamWriter
from aiohttp.web_exceptions import HTTPMethodNotAllowed
from aiohttp_sse import EventSourceResponse
from redis.exceptions import RedisError

from handlers.common import current_user
from handlers.conn_registry import DIRECT_LIMIT
from handlers.keys import (
    CONFIG,
    EVENT_HUB,
    EVENT_STATS,
    REQUEST_ID,
    SESSION_DEADLINES,
    SSE_STREAMS,
)
from services.auth_user import AuthUser
from services.errors import RateLimited, Unavailable
from services.events import Event, InvalidEventId, SlowConsumer, Subscription

log = logging.getLogger(__name__)

LAST_EVENT_ID = "Last-Event-ID"
NO_FINAL: frozenset[str] = frozenset()
PING = b": ping\n\n"
PING_SLICE = 500  # pings written per loop iteration before yielding (a burst stays short)
# Keys of this transport's encodings in ``Event.wire`` (objects: no clash with other keys).
_FRAME, _CHUNK = object(), object()


def http_chunk(data: bytes) -> bytes:
    """``data`` framed as one chunk of HTTP/1.1 chunked transfer coding."""
    return b"%x\r\n%s\r\n" % (len(data), data)


PING_CHUNK = http_chunk(PING)


def event_frame(ev: Event) -> bytes:
    """The SSE wire form (``id:``, ``event:``, one ``data:`` line), built once per event."""
    wire = ev.wire
    if wire is None:
        wire = ev.wire = {}
    frame: bytes | None = wire.get(_FRAME)
    if frame is None:
        frame = wire[_FRAME] = b"id: %s\nevent: %s\ndata: %s\n\n" % (
            ev.id.encode(),
            ev.event.encode(),
            ev.raw,
        )
    return frame


def event_chunk(ev: Event) -> bytes:
    """The SSE frame as one HTTP/1.1 chunk (``<hex size>\\r\\n…\\r\\n``), built once
    per event: written as is to every chunked stream, with no per-client encoding."""
    wire = ev.wire
    chunk: bytes | None = wire.get(_CHUNK) if wire is not None else None
    if chunk is None:
        chunk = http_chunk(event_frame(ev))
        ev.wire[_CHUNK] = chunk  # type: ignore[index]  # event_frame made the dict
    return chunk


class SseStream(EventSourceResponse):
    """An EventSourceResponse without aiohttp-sse's ping task per stream, and with
    synchronous writes for the hub's fan-out.

    One ``SsePinger`` per application writes ``: ping`` to every stream each interval (a
    task per stream costs memory: thousands of coroutine frames, tasks and timers). In
    place of the ping task, ``_ping_task`` is a future that ``stop_streaming()`` cancels,
    so ``wait()``, ``is_connected()`` and its done callbacks keep their meaning.
    """

    def __init__(self, *, pinger: SsePinger, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._pinger = pinger
        self._protocol: Any = None  # the connection's protocol (its transport), once prepared
        self._framed = False  # chunked transfer coding: each write is one whole HTTP chunk
        self._live = False  # the head went out: direct writes and pings may follow
        self._stalled_at: float | None = None
        self._sub: Subscription | None = None  # released as soon as the stream stops

    async def prepare(self, request: web.BaseRequest) -> AbstractStreamWriter | None:
        if self.prepared:
            return await super().prepare(request)
        if not self._allow_all_methods and request.method != "GET":
            raise HTTPMethodNotAllowed(request.method, ("GET",))
        self._set_tcp_user_timeout(request)  # the kernel aborts a peer that stops acking
        writer = await web.StreamResponse.prepare(self, request)
        self._ping_task = asyncio.get_running_loop().create_future()  # type: ignore[assignment]
        self.enable_chunked_encoding()  # after prepare, as aiohttp-sse does
        self._protocol = request.protocol
        # aiohttp arms an idle-connection timer per connection (keepalive_timeout, 75 s);
        # a stream is not idle and has its own liveness checks (pings, TCP_USER_TIMEOUT),
        # so release it now: ~0.5 KB per open stream. A no-op for the keep-alive state.
        request.protocol.keep_alive(True)
        self._framed = bool(getattr(self._payload_writer, "chunked", False))
        self._pinger.add(self)
        return writer

    def stop_streaming(self) -> None:
        """End the stream (shutdown, revocation, the pinger finding the client gone) and
        release its subscription at once."""
        self._live = False
        super().stop_streaming()
        sub, self._sub = self._sub, None
        if sub is not None:
            sub.close()

    def session_expired(self) -> None:
        self.stop_streaming()

    def hold(self, sub: Subscription) -> None:
        """Close ``sub`` when the stream stops (no callback object per stream)."""
        self._sub = sub

    def go_live(self) -> None:
        """The head was written: the hub and the pinger may write directly from now on."""
        if self._ping_task is not None and not self._ping_task.done():
            self._live = True

    def _transport_with_room(self) -> asyncio.Transport | None:
        if not self._live:
            return None
        transport: asyncio.Transport | None = self._protocol.transport
        if (
            transport is None
            or transport.is_closing()
            or transport.get_write_buffer_size() > DIRECT_LIMIT
        ):
            return None
        return transport

    def write_event(self, ev: Event) -> bool:
        """Write one event now (no task switch) if the transport has room; else False."""
        transport = self._transport_with_room()
        if transport is None:
            return False
        transport.write(event_chunk(ev) if self._framed else event_frame(ev))
        return True

    def write_events(self, events: list[Event]) -> bool:
        """Write several events in one go (bytes shared by every stream); else False."""
        transport = self._transport_with_room()
        if transport is None:
            return False
        transport.write(_batch_bytes(events, self._framed))
        return True

    def ping(self, now: float) -> bool:
        """Write ``: ping`` (pinger side); False once the stream is over (forget it)."""
        task = self._ping_task
        if task is None or task.done():
            return False
        transport: asyncio.Transport | None = self._protocol.transport
        if transport is None or transport.is_closing():
            self.stop_streaming()  # the client is gone: its handler ends, releasing all
            return False
        if transport.get_write_buffer_size() > DIRECT_LIMIT:
            # Not draining. Like aiohttp-sse's ping (which waited send_timeout for the
            # drain), give up on a client stalled that long.
            if self._stalled_at is None:
                self._stalled_at = now
            elif self._send_timeout is not None and now - self._stalled_at >= self._send_timeout:
                transport.abort()
                self.stop_streaming()
                return False
            return True
        self._stalled_at = None
        if self._live:
            transport.write(PING_CHUNK if self._framed else PING)
        return True


_batch_cache: list[Any] = [None, False, b""]  # events list, framed, bytes of the last batch


def _batch_bytes(events: list[Event], framed: bool) -> bytes:
    """The frames of a batch, built once for all the streams the hub hands it to."""
    cache = _batch_cache
    if cache[0] is events and cache[1] is framed:
        cached: bytes = cache[2]
        return cached
    data = b"".join(event_frame(ev) for ev in events)
    if framed:
        data = http_chunk(data)
    cache[0], cache[1], cache[2] = events, framed, data
    return data


class SsePinger:
    """Writes ``: ping`` to every open stream once per interval, from one task.

    Streams wait in a deque in due order (each is due one interval after it was opened or
    last pinged, so pings spread out like the connections did); closed ones drop out.
    """

    def __init__(self, interval_s: float) -> None:
        self._interval = interval_s
        self._due: deque[tuple[float, weakref.ref[SseStream]]] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def add(self, stream: SseStream) -> None:
        loop = asyncio.get_running_loop()
        self._due.append((loop.time() + self._interval, weakref.ref(stream)))
        if self._task is None or self._task.done():
            # A fresh context: the task must not carry the first request's context vars.
            self._task = loop.create_task(
                self._run(), name="sse-pinger", context=contextvars.Context()
            )
        self._wake.set()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._due.clear()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        due = self._due
        interval = self._interval
        while True:
            if not due:
                self._wake.clear()
                await self._wake.wait()
                continue
            delay = due[0][0] - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
                continue
            now = loop.time()
            for _ in range(PING_SLICE):
                if not due or due[0][0] > now:
                    break
                _, ref = due.popleft()
                stream = ref()
                try:
                    if stream is not None and stream.ping(now):
                        due.append((now + interval, ref))
                except Exception:  # one broken stream must not stop the pings of all
                    log.exception("SSE ping failed")
            await asyncio.sleep(0)


_pingers: weakref.WeakKeyDictionary[web.Application, SsePinger] = weakref.WeakKeyDictionary()


def _pinger(app: web.Application) -> SsePinger:
    pinger = _pingers.get(app)
    if pinger is None:
        pinger = _pingers[app] = SsePinger(app[CONFIG].events.sse_ping_interval_s)
    return pinger


def sse_frame(event: str, data: Any, *, event_id: str | None = None) -> bytes:
    """One SSE message: optional ``id:``, ``event:``, one ``data:`` line of JSON."""
    head = b"id: %s\n" % event_id.encode() if event_id else b""
    return head + b"event: %s\ndata: %s\n\n" % (event.encode(), orjson.dumps(data))


async def _write(resp: EventSourceResponse, request: web.Request, data: bytes, t: float) -> None:
    try:
        async with asyncio.timeout(t):
            await resp.write(data)
    except TimeoutError:
        if request.transport is not None:  # a stalled client never drains: abort
            request.transport.abort()
        raise


async def _subscribe(
    request: web.Request, channel: str, replay_from: str | None, *, resume: bool
) -> tuple[Subscription, bool]:
    """Subscribe honouring Last-Event-ID (when ``resume``); a malformed id replays the
    whole retention."""
    hub = request.app[EVENT_HUB]
    last_id = (request.headers.get(LAST_EVENT_ID) or replay_from) if resume else None
    try:
        try:
            return await hub.subscribe(channel, last_id), False
        except InvalidEventId:
            return await hub.subscribe(channel, "0-0"), True
    except (RedisError, OSError, TimeoutError):
        log.warning("event hub unavailable for channel %s", channel)
        raise Unavailable("Live events are unavailable; retry shortly.") from None


class SseSession:
    """One user's SSE stream on one channel, from the cap check to the release.

    Made by :func:`sse_session` and used as ``async with``: entering counts the stream
    against the user's cap and subscribes; ``start()`` sends the response head and from
    then on the stream ends on shutdown, on revocation of the session, when the session
    expires and when the pinger finds the client gone (each closes the subscription, so a
    loop over it ends). Leaving releases everything. A plain class with slots, not a
    generator: thousands of idle streams each hold one.
    """

    __slots__ = (
        "_undo_revoke",
        "bad_id",
        "channel",
        "prepared",
        "replay_from",
        "request",
        "resp",
        "resume",
        "sub",
        "user",
    )

    def __init__(
        self,
        request: web.Request,
        channel: str,
        *,
        resume: bool = True,
        replay_from: str | None = None,
    ) -> None:
        self.request = request
        self.channel = channel
        self.resume = resume
        self.replay_from = replay_from
        self.user: AuthUser = current_user(request)
        cfg = request.app[CONFIG]
        self.resp = SseStream(
            pinger=_pinger(request.app),
            ping_interval=cfg.events.sse_ping_interval_s,
            send_timeout=cfg.events.send_timeout_s,
            headers={"X-Request-ID": request.get(REQUEST_ID, "-"), "Cache-Control": "no-store"},
        )
        self.sub: Subscription | None = None
        self.bad_id = False  # the client's Last-Event-ID was not an event id
        self.prepared = False
        self._undo_revoke: Callable[[], None] | None = None

    async def __aenter__(self) -> SseSession:
        app = self.request.app
        cap = app[CONFIG].limits.streams_per_user
        if not app[SSE_STREAMS].try_add(self.user.id, self.resp, cap):
            raise RateLimited("Too many open streams; close one first.", retry_after=5)
        try:
            self.sub, self.bad_id = await _subscribe(
                self.request, self.channel, self.replay_from, resume=self.resume
            )
        except BaseException:
            self.release()
            raise
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> bool:
        try:
            if isinstance(exc, SlowConsumer):
                log.info("SSE client too slow on %s; ended at %s", self.channel, exc.last_id)
                return True
            if isinstance(exc, (ConnectionResetError, TimeoutError, RuntimeError)):
                log.debug("SSE client on %s went away", self.channel)
                return True
            return False
        finally:
            self.release()

    @property
    def subscription(self) -> Subscription:
        if self.sub is None:
            raise RuntimeError("the session is not subscribed yet")
        return self.sub

    async def start(self) -> None:
        """Send the response head; the stream is open and counted from here."""
        app = self.request.app
        await self.resp.prepare(self.request)
        self.prepared = True
        stats = app[EVENT_STATS]
        stats.sse_open += 1
        stats.notify()
        self.resp.hold(self.subscription)
        self._undo_revoke = app[EVENT_HUB].on_revoked(
            self.user.session_id, self.resp.stop_streaming
        )
        app[SESSION_DEADLINES].watch(self.user.expires_at, self.resp)

    async def write(self, data: bytes) -> None:
        """Write within the send timeout; a client that never drains is aborted."""
        await _write(self.resp, self.request, data, self.request.app[CONFIG].events.send_timeout_s)

    def release(self) -> None:
        """Give back everything the stream held: subscription, revocation hook, registry
        slot, the open-stream count and its place with the pinger."""
        app = self.request.app
        if self.sub is not None:
            self.sub.close()
        if self._undo_revoke is not None:
            self._undo_revoke()
            self._undo_revoke = None
        app[SSE_STREAMS].discard(self.user.id, self.resp)
        if self.prepared:
            self.prepared = False
            stats = app[EVENT_STATS]
            stats.sse_open -= 1
            stats.notify()
            self.resp.stop_streaming()


def sse_session(
    request: web.Request, channel: str, *, resume: bool = True, replay_from: str | None = None
) -> SseSession:
    """An SSE stream of the current user on ``channel``, for ``async with`` (every SSE
    route uses this).

    429 past the user's stream cap and 503 when the event hub is unreachable, both before
    anything is sent. ``resume``: honour Last-Event-ID (``replay_from`` when the client
    sent none). A client that goes away or falls too far behind ends the stream quietly.
    """
    return SseSession(request, channel, resume=resume, replay_from=replay_from)


async def sse_channel_stream(
    request: web.Request,
    channel: str,
    *,
    initial_events: Sequence[tuple[str, Any]] | None = None,
    final_event_names: Iterable[str] | None = None,
    replay_from: str | None = None,
) -> web.StreamResponse:
    """Stream one channel as SSE until the client leaves, a final event, or shutdown.

    ``initial_events`` (event, data) are sent first (without ids); after an event whose
    name is in ``final_event_names`` the stream ends. ``replay_from`` is the position to
    resume from when the client sent no Last-Event-ID (``"0-0"``: all retained history).
    """
    final = frozenset(final_event_names) if final_event_names else NO_FINAL
    async with sse_session(request, channel, replay_from=replay_from) as session:
        resp, sub = session.resp, session.subscription
        await session.start()
        if await _send_head(request, resp, sub, session.bad_id, initial_events or (), final):
            # The live loop runs in this frame, not in a coroutine of its own: one frame
            # less held by every idle stream (thousands are open).
            sub.direct, sub.direct_batch = _direct_writers(resp, final)
            timeout = request.app[CONFIG].events.send_timeout_s
            while True:
                batch = sub.poll()
                if batch is None:  # replaying, closed or dropped
                    batch = await sub.next_batch()
                    if not batch:
                        break
                elif not batch:
                    # Idle: await the future itself (no coroutine frame per idle stream);
                    # the hub writes caught-up streams directly meanwhile.
                    await sub.wait_future()
                    continue
                end = _final_index(batch, final)
                if end is not None:
                    batch = batch[: end + 1]
                await _write(resp, request, b"".join(event_frame(ev) for ev in batch), timeout)
                if end is not None:
                    break
    return session.resp


async def _send_head(
    request: web.Request,
    resp: SseStream,
    sub: Subscription,
    bad_id: bool,
    initial_events: Sequence[tuple[str, Any]],
    final: frozenset[str],
) -> bool:
    """Write ``retry:``, a ``reset`` when due and the initial events, then go live.

    Returns False when an initial event was final (the stream ends there).
    """
    cfg = request.app[CONFIG].events
    head = b"retry: %d\n\n" % cfg.sse_retry_ms
    if sub.reset_oldest_id is not None or bad_id:
        head += sse_frame("reset", {"oldest_id": sub.reset_oldest_id})
    for name, data in initial_events:
        head += sse_frame(name, data)
        if name in final:
            await _write(resp, request, head, cfg.send_timeout_s)
            return False
    await _write(resp, request, head, cfg.send_timeout_s)
    resp.go_live()
    return True


def _direct_writers(
    resp: SseStream, final: frozenset[str]
) -> tuple[Callable[[Event], bool], Callable[[list[Event]], bool]]:
    """The hub's synchronous writers for a caught-up stream: the same bytes for every
    stream (encoded once per event or batch), straight to the transport when it has room.
    A final event declines: the task path writes it and ends the stream."""
    if not final:
        return resp.write_event, resp.write_events

    def one(ev: Event) -> bool:
        return ev.event not in final and resp.write_event(ev)

    def batch(events: list[Event]) -> bool:
        return _final_index(events, final) is None and resp.write_events(events)

    return one, batch


def _final_index(batch: list[Event], final: frozenset[str]) -> int | None:
    if not final:
        return None
    for i, ev in enumerate(batch):
        if ev.event in final:
            return i
    return None


async def stop_sse_streams(app: web.Application) -> None:
    """on_shutdown: end every open stream so the process exits promptly."""
    registry = app.get(SSE_STREAMS)
    if registry is not None:
        for resp in registry.copy():
            if resp.prepared:
                resp.stop_streaming()
    pinger = _pingers.pop(app, None)
    if pinger is not None:
        await pinger.stop()
