"""SSE plumbing shared by every text/event-stream route (built on aiohttp-sse).

``sse_channel_stream`` serves one bus channel: ``retry:`` first, ``: ping`` comments,
Last-Event-ID resume through the hub (``reset`` when out of retention), a per-user cap,
a registry of open streams ended on shutdown, revocation, and release of the
subscription when the client goes away (the ping notices within one interval).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import orjson
from aiohttp import web
from aiohttp_sse import EventSourceResponse
from redis.exceptions import RedisError

from handlers.common import current_user
from server.keys import CONFIG, EVENT_HUB, EVENT_STATS, REQUEST_ID, SSE_STREAMS
from server.write_now import has_room, write_now
from services.errors import RateLimited, Unavailable
from services.events import Event, InvalidEventId, SlowConsumer, Subscription

log = logging.getLogger(__name__)

LAST_EVENT_ID = "Last-Event-ID"


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
    request: web.Request, channel: str, replay_from: str | None = None
) -> tuple[Subscription, bool]:
    """Subscribe honouring Last-Event-ID; a malformed id replays the whole retention."""
    hub = request.app[EVENT_HUB]
    last_id = request.headers.get(LAST_EVENT_ID) or replay_from
    try:
        try:
            return await hub.subscribe(channel, last_id), False
        except InvalidEventId:
            return await hub.subscribe(channel, "0-0"), True
    except (RedisError, OSError, TimeoutError):
        log.warning("event hub unavailable for channel %s", channel)
        raise Unavailable("Live events are unavailable; retry shortly.") from None


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
    user = current_user(request)
    app = request.app
    cfg = app[CONFIG]
    registry, stats = app[SSE_STREAMS], app[EVENT_STATS]
    final = frozenset(final_event_names or ())
    resp = EventSourceResponse(
        ping_interval=cfg.events.sse_ping_interval_s,
        send_timeout=cfg.events.send_timeout_s,
        headers={"X-Request-ID": request.get(REQUEST_ID, "-"), "Cache-Control": "no-store"},
    )
    if not registry.try_add(user.id, resp, cfg.limits.streams_per_user):
        raise RateLimited("Too many open streams; close one first.", retry_after=5)
    sub: Subscription | None = None
    undo_revoke = None
    prepared = False
    try:
        sub, bad_id = await _subscribe(request, channel, replay_from)
        await resp.prepare(request)
        prepared = True
        stats.sse_open += 1
        stats.notify()
        # The ping task ends when the client is gone or stop_streaming() is called
        # (shutdown, revocation): either way the subscription is released at once.
        ping_task: asyncio.Task[None] = resp._ping_task  # type: ignore[assignment]
        ping_task.add_done_callback(_closer(sub))
        undo_revoke = app[EVENT_HUB].on_revoked(user.session_id, resp.stop_streaming)
        await _stream(request, resp, sub, bad_id, initial_events or (), final)
    except SlowConsumer as exc:
        log.info("SSE client too slow on %s; ended at %s", channel, exc.last_id)
    except (ConnectionResetError, TimeoutError, RuntimeError):
        log.debug("SSE client on %s went away", channel)
    finally:
        if sub is not None:
            sub.close()
        if undo_revoke is not None:
            undo_revoke()
        registry.discard(user.id, resp)
        if prepared:
            stats.sse_open -= 1
            stats.notify()
            resp.stop_streaming()
    return resp


def _closer(sub: Subscription) -> Callable[[object], None]:
    def close(_: object) -> None:
        sub.close()

    return close


async def _stream(
    request: web.Request,
    resp: EventSourceResponse,
    sub: Subscription,
    bad_id: bool,
    initial_events: Sequence[tuple[str, Any]],
    final: frozenset[str],
) -> None:
    timeout = request.app[CONFIG].events.send_timeout_s
    head = b"retry: %d\n\n" % request.app[CONFIG].events.sse_retry_ms
    if sub.reset_oldest_id is not None or bad_id:
        head += sse_frame("reset", {"oldest_id": sub.reset_oldest_id})
    for name, data in initial_events:
        head += sse_frame(name, data)
        if name in final:
            await _write(resp, request, head, timeout)
            return
    await _write(resp, request, head, timeout)
    sub.direct = _direct_writer(request, resp, final)
    while True:
        batch = await sub.next_batch()
        if not batch:
            return
        end = _final_index(batch, final)
        if end is not None:
            batch = batch[: end + 1]
        await _write(resp, request, b"".join(ev.sse_frame() for ev in batch), timeout)
        if end is not None:
            return


def _direct_writer(
    request: web.Request, resp: EventSourceResponse, final: frozenset[str]
) -> Callable[[Event], bool]:
    def write(ev: Event) -> bool:
        if ev.event in final or not has_room(request.transport):
            return False  # the task path ends the stream / waits for the drain
        return write_now(resp.write(ev.sse_frame()))

    return write


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
    if registry is None:
        return
    for resp in registry.copy():
        if resp.prepared:
            resp.stop_streaming()
