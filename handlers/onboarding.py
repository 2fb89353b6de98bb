"""Onboarding routes: the progress analysis (JSON) and its live SSE stream.

The stream subscribes to ``user:<id>:onboarding`` through the process's event hub (no
database polling): it sends the analysis at once, then a fresh one after ``changed``
events, at most one per ``activity.progress_min_interval_s`` (events arriving meanwhile
are folded into the next analysis). Each later ``progress`` carries the id of the newest
change it reflects; a reconnect simply gets the current analysis first.
"""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from handlers.common import api, current_user, json_response
from handlers.keys import CONFIG, ONBOARDING
from handlers.schemas.activity import OnboardingProgressSchema
from handlers.sse import SseSession, sse_frame, sse_session
from services.events.channels import onboarding_channel

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


async def _follow(session: SseSession) -> None:
    """After the first analysis: one new analysis per burst of changes, rate limited."""
    request, sub = session.request, session.subscription
    loop = asyncio.get_running_loop()
    service = request.app[ONBOARDING]
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
        analysis = await service.progress(session.user.id)
        await session.write(sse_frame(PROGRESS_EVENT, analysis, event_id=batch[-1].id))
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
    # Subscribed before the first analysis, so no change falls in between; a reconnect
    # gets the current analysis first, so there is nothing to resume.
    async with sse_session(request, onboarding_channel(user.id), resume=False) as session:
        first = await app[ONBOARDING].progress(user.id)
        await session.start()
        head = b"retry: %d\n\n" % app[CONFIG].events.sse_retry_ms
        await session.write(
            head + sse_frame(PROGRESS_EVENT, first, event_id=session.subscription.last_id)
        )
        session.resp.go_live()  # pings from here on
        await _follow(session)
    return session.resp
