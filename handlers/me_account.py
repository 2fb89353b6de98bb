"""Account lifecycle routes (API.md "Accounts"): change my password, list and revoke my
sessions, delete my account."""

from __future__ import annotations

import uuid

from aiohttp import web

from handlers.clients import client_address
from handlers.common import api, current_user, json_response, load_body
from handlers.schemas.account_lifecycle import (
    AccountDeleteSchema,
    PasswordChangeSchema,
    SessionListSchema,
)
from server.middlewares import SESSION_COOKIE
from services.account_lifecycle import AccountLifecycle
from services.errors import NotFound

LIFECYCLE = web.AppKey("account_lifecycle", AccountLifecycle)
TAGS = ("accounts",)


@api(
    "Change my password (other sessions are revoked)",
    body=PasswordChangeSchema,
    status=204,
    tags=TAGS,
    errors=(400, 401, 403, 415, 422, 429),
)
async def change_password(request: web.Request) -> web.Response:
    body = await load_body(request, PasswordChangeSchema)
    await request.app[LIFECYCLE].change_password(
        current_user(request),
        body["current_password"],
        body["new_password"],
        address=client_address(request),
    )
    return web.Response(status=204)


@api("My sessions", response=SessionListSchema, tags=TAGS, errors=(401,))
async def list_sessions(request: web.Request) -> web.Response:
    items = await request.app[LIFECYCLE].list_sessions(current_user(request))
    return json_response({"items": items})


@api("Revoke one of my sessions", status=204, tags=TAGS, errors=(401, 403, 404))
async def revoke_session(request: web.Request) -> web.Response:
    try:
        session_id = str(uuid.UUID(request.match_info["id"]))
    except ValueError:
        raise NotFound("No such session.") from None
    await request.app[LIFECYCLE].revoke(current_user(request), session_id)
    return web.Response(status=204)


@api("Revoke all my other sessions", status=204, tags=TAGS, errors=(401, 403))
async def revoke_other_sessions(request: web.Request) -> web.Response:
    await request.app[LIFECYCLE].revoke_others(current_user(request))
    return web.Response(status=204)


@api(
    "Delete my account and all its data",
    body=AccountDeleteSchema,
    status=204,
    tags=TAGS,
    errors=(400, 401, 403, 415, 422, 429),
)
async def delete_me(request: web.Request) -> web.Response:
    body = await load_body(request, AccountDeleteSchema)
    await request.app[LIFECYCLE].delete_account(
        current_user(request), body["password"], address=client_address(request)
    )
    response = web.Response(status=204)
    response.del_cookie(SESSION_COOKIE, path="/")
    return response
