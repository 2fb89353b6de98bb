"""Catalog role search: suggestions while a person types a target role."""

from __future__ import annotations

from aiohttp import web

from handlers.common import api, current_user, json_response, load_query
from handlers.keys import CAREER
from handlers.schemas.roles import RolePageSchema, RoleQuerySchema
from services.career.role_search import search_roles


@api(
    "Search the role catalog by title (suggestions for a target role)",
    query=RoleQuerySchema,
    response=RolePageSchema,
    tags=("courses",),
    errors=(401, 422),
)
async def search(request: web.Request) -> web.Response:
    current_user(request)
    query = load_query(request, RoleQuerySchema)
    items = search_roles(request.app[CAREER].catalog.roles, query["q"], query["limit"])
    # The catalog is small: one page holds every match up to `limit`.
    return json_response({"items": items, "next_cursor": None})
