"""Onboarding routes: the progress analysis (JSON) and its live SSE stream.

The stream subscribes to ``user:<id>:onboarding`` through the process's event hub (no
database polling): it sends the analysis at once, then a fresh one after ``changed``
events, at most one per ``activity.progress_min_interval_s`` (events arriving meanwhile
are folded into the next analysis). Each later ``progress`` carries the id of the newest
change it reflects; a reconnect simply gets the current analysis first.
"""

from __future__ import annotations

import asyncio
import functools
import logging

from aiohttp import web
from aiohttp_sse import EventSourceResponse
from redis.exceptions import RedisError

from handlers.common import api, current_user, json_response
from handlers.keys import CONFIG, EVENT_HUB, EVENT_STATS, ONBOARDING, REQUEST_ID, SSE_STREAMS
from handlers.schemas.activity import OnboardingProgressSchema
from handlers.sse import release_stream, sse_frame
from services.errors import RateLimited, Unavailable
from services.events import SlowConsumer, Subscription
from services.onboarding import onboarding_channel

log = logging.getLogger(__name__)

TAGS = ("onboarding",)
PROGRESS_EVENT = "progress"


@api(
    "My onboarding progress: steps, percent, prediction, next best action, engagement",
    response=OnboardingProgressSchema,
    tags=TAGS,
    errors=(401,),
)
async def progress(request: web.Request) -> web.Response:
    user = current_user(request)
    return json_response(await request.app[ONBOARDING].progress(user.id))


def _close(sub: Subscription, _task: object) -> None:
    sub.close()


async def _write(resp: EventSourceResponse, request: web.Request, data: bytes) -> None:
    try:
        async with asyncio.timeout(request.app[CONFIG].events.send_timeout_s):
            await resp.write(data)
    except TimeoutError:
        if request.transport is not None:  # a stalled client never drains: abort
            request.transport.abort()
        raise


async def _follow(request: web.Request, resp: EventSourceResponse, sub: Subscription) -> None:
    """After the first analysis: one new analysis per burst of changes, rate limited."""
    loop = asyncio.get_running_loop()
    service = request.app[ONBOARDING]
    user_id = current_user(request).id
    interval = request.app[CONFIG].activity.progress_min_interval_s
    last = loop.time()
    while True:
        batch = await sub.next_batch()
        if not batch:
            return
        wait = interval - (loop.time() - last)
        if wait > 0:
            await asyncio.sleep(wait)  # rate limit: changes arriving meanwhile coalesce
        while sub.queued:
            more = await sub.next_batch()
            if not more:
                return
            batch = more
        analysis = await service.progress(user_id)
        await _write(resp, request, sse_frame(PROGRESS_EVENT, analysis, event_id=batch[-1].id))
        last = loop.time()


@api(
    "Live onboarding progress (SSE): event `progress` at once, then after each change",
    content_type="text/event-stream",
    tags=TAGS,
    errors=(401, 429, 503),
)
async def progress_stream(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    app = request.app
    cfg = app[CONFIG]
    registry, stats = app[SSE_STREAMS], app[EVENT_STATS]
    resp = EventSourceResponse(
        ping_interval=cfg.events.sse_ping_interval_s,
        headers={"X-Request-ID": request.get(REQUEST_ID, "-"), "Cache-Control": "no-store"},
    )
    if not registry.try_add(user.id, resp, cfg.limits.streams_per_user):
        raise RateLimited("Too many open streams; close one first.", retry_after=5)
    sub: Subscription | None = None
    undo_revoke = None
    prepared = False
    try:
        try:  # subscribe before the first analysis so no change falls in between
            sub = await app[EVENT_HUB].subscribe(onboarding_channel(user.id))
        except (RedisError, OSError, TimeoutError):
            raise Unavailable("Live events are unavailable; retry shortly.") from None
        first = await app[ONBOARDING].progress(user.id)
        await resp.prepare(request)
        prepared = True
        stats.sse_open += 1
        stats.notify()
        # The ping task ends when the client is gone or on stop_streaming() (shutdown,
        # revocation): the subscription is then closed and the loop below ends.
        resp._ping_task.add_done_callback(functools.partial(_close, sub))  # type: ignore[union-attr]
        undo_revoke = app[EVENT_HUB].on_revoked(user.session_id, resp.stop_streaming)
        head = b"retry: %d\n\n" % cfg.events.sse_retry_ms
        await _write(resp, request, head + sse_frame(PROGRESS_EVENT, first, event_id=sub.last_id))
        await _follow(request, resp, sub)
    except SlowConsumer:
        log.info("onboarding stream client too slow; ended")
    except (ConnectionResetError, TimeoutError, RuntimeError):
        log.debug("onboarding stream client went away")
    finally:
        release_stream(app, user.id, resp, sub, undo_revoke, prepared=prepared)
    return resp
