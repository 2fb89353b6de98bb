"""Catalog course search (PostgreSQL full-text search, filters, cursor pages)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from handlers.common import (
    api,
    current_user,
    decode_cursor,
    encode_cursor,
    json_response,
    load_query,
)
from handlers.keys import CAREER
from handlers.schemas.career import CoursePageSchema, CourseQuerySchema
from services.errors import ValidationFailed

TAGS = ("courses",)


def _after(cursor: str | None, ranked: bool) -> list[Any] | None:
    parts = decode_cursor(cursor)
    if parts is None:
        return None
    if ranked:
        ok = (
            len(parts) == 3
            and parts[0] == "r"
            and isinstance(parts[1], int | float)
            and not isinstance(parts[1], bool)
            and isinstance(parts[2], str)
        )
    else:
        ok = len(parts) == 2 and parts[0] == "s" and isinstance(parts[1], str)
    if not ok:
        raise ValidationFailed(
            "Invalid cursor.", errors={"cursor": ["Invalid cursor for this query."]}
        )
    return parts[1:]


@api(
    "Search the course catalog",
    query=CourseQuerySchema,
    response=CoursePageSchema,
    tags=TAGS,
    errors=(401, 422),
)
async def search(request: web.Request) -> web.Response:
    current_user(request)
    query = load_query(request, CourseQuerySchema)
    text = query["q"].strip() if query["q"] else None
    ranked = bool(text)
    items, nxt = await request.app[CAREER].search_courses(
        text=text,
        skills=query["skill"],
        difficulty=query["difficulty"],
        limit=query["limit"],
        after=_after(query["cursor"], ranked),
    )
    next_cursor = encode_cursor("r" if ranked else "s", *nxt) if nxt else None
    return json_response({"items": items, "next_cursor": next_cursor})
