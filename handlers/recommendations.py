"""Career recommendation routes: roles (GET/POST) and the NDJSON course stream."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import aclosing
from typing import Any

from aiohttp import web

from handlers.common import api, current_user, dumps_line, json_response, load_body, load_query
from handlers.schemas.career import (
    CourseStreamQuerySchema,
    RolesAnswerSchema,
    RolesBodySchema,
    RolesQuerySchema,
)
from handlers.stream_write import write_or_drop
from server.keys import CAREER, CONFIG, ONBOARDING
from services.auth_user import AuthUser
from services.errors import DomainError, Unavailable

log = logging.getLogger(__name__)

TAGS = ("recommendations",)
NDJSON = "application/x-ndjson"


@api(
    "Recommend catalog roles for a job description (query form; stores nothing — POST keeps "
    "the answer in your history and marks the onboarding step)",
    query=RolesQuerySchema,
    response=RolesAnswerSchema,
    tags=TAGS,
    errors=(401, 422, 429),
)
async def roles_get(request: web.Request) -> web.Response:
    user = current_user(request)
    query = load_query(request, RolesQuerySchema)
    answer = await request.app[CAREER].recommend_roles(
        user.id,
        query["description"],
        limit=query["limit"],
        stored_profile=_profile(user),
        store=False,  # GET is safe (RFC 9110 9.2.1): no stored answer, no onboarding step
    )
    return json_response(answer)


@api(
    "Recommend catalog roles for a job description",
    body=RolesBodySchema,
    response=RolesAnswerSchema,
    tags=TAGS,
    errors=(400, 401, 415, 422, 429),
)
async def roles_post(request: web.Request) -> web.Response:
    user = current_user(request)
    body = await load_body(request, RolesBodySchema)
    answer = await request.app[CAREER].recommend_roles(
        user.id,
        body["job_description"],
        context=body["context"],
        limit=body["limit"],
        stored_profile=_profile(user),
    )
    await request.app[ONBOARDING].notify_step_done(user.id, "roles_viewed")
    return json_response(answer)


def _profile(user: AuthUser) -> Mapping[str, Any] | None:
    """The profile from the session's record (kept current: every change of the user
    invalidates it everywhere), so recommendations need no extra read."""
    if user.record is None:
        return None
    profile = user.record.get("profile")
    return profile if isinstance(profile, Mapping) else {}


def _client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


def _error_line(exc: Exception) -> dict[str, Any]:
    if isinstance(exc, DomainError):
        error: dict[str, Any] = {"message": exc.detail, "fallback_available": False}
        if exc.errors:
            error["details"] = exc.errors
        if isinstance(exc, Unavailable):
            error["details"] = {"retry_after_s": exc.retry_after}
        return {"error": error}
    return {
        "error": {
            "message": "The recommendations could not be completed.",
            "details": {"produced_until": "see the lines above"},
            "fallback_available": False,
        }
    }


@api(
    "Stream course recommendations for learning goals (NDJSON, one course per line)",
    query=CourseStreamQuerySchema,
    content_type=NDJSON,
    tags=TAGS,
    errors=(401, 422),
)
async def course_stream(request: web.Request) -> web.StreamResponse:
    user = current_user(request)
    query = load_query(request, CourseStreamQuerySchema)
    service = request.app[CAREER]
    send_timeout_s = request.app[CONFIG].events.send_timeout_s  # then the reader is dropped
    response = web.StreamResponse(
        headers={"Content-Type": NDJSON, "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )
    async with aclosing(service.stream_courses(user.id, query["goals"], query["limit"])) as lines:
        # Errors before the first line are ordinary problem responses.
        item = await anext(lines, None)
        await response.prepare(request)
        try:
            while item is not None:
                if _client_gone(request):
                    log.info("course stream: client went away; stopping")
                    return response
                await write_or_drop(request, response, dumps_line(item), send_timeout_s)
                item = await anext(lines, None)
        except ConnectionResetError:  # aiohttp's ClientConnectionResetError included
            log.info("course stream: client went away; stopping")
            return response
        except Exception as exc:  # after the 200: a final error line, then a clean end
            log.exception("course stream failed after it started")
            if _client_gone(request):
                return response
            try:
                await response.write(dumps_line(_error_line(exc)))
            except ConnectionResetError:
                return response
    await response.write_eof()
    return response
