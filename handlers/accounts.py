"""Account routes: register, login, logout and the current user (API.md "Accounts")."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from handlers.clients import client_address, over_tls
from handlers.common import api, current_user, json_response, load_body
from handlers.schemas.accounts import (
    AccountUserSchema,
    AuthAnswerSchema,
    LoginBodySchema,
    MePatchSchema,
    RegisterBodySchema,
)
from handlers.signup_limits import limit_registration
from server.keys import ACCOUNTS, CONFIG, ONBOARDING
from server.middlewares import SESSION_COOKIE

TAGS = ("accounts",)


def _cookie_secure(request: web.Request) -> bool:
    mode = request.app[CONFIG].auth.cookie_secure
    return mode == "always" or (mode == "auto" and over_tls(request))


def _with_cookie(request: web.Request, answer: dict[str, Any], status: int) -> web.Response:
    response = json_response(answer, status=status)
    response.set_cookie(
        SESSION_COOKIE,
        answer["token"],
        max_age=request.app[CONFIG].auth.token_absolute_ttl_s,
        path="/",
        httponly=True,
        samesite="Lax",
        secure=_cookie_secure(request),
    )
    return response


@api(
    "Create an account and sign in",
    body=RegisterBodySchema,
    response=AuthAnswerSchema,
    status=201,
    auth=False,
    tags=TAGS,
    errors=(400, 409, 415, 422, 429),
)
async def register(request: web.Request) -> web.Response:
    body = await load_body(request, RegisterBodySchema)
    await limit_registration(request)
    answer = await request.app[ACCOUNTS].register(
        body["email"],
        body["password"],
        body["display_name"],
        user_agent=request.headers.get("User-Agent", ""),
    )
    return _with_cookie(request, answer, 201)


@api(
    "Sign in with e-mail and password",
    body=LoginBodySchema,
    response=AuthAnswerSchema,
    auth=False,
    tags=TAGS,
    errors=(400, 401, 415, 422, 429),
)
async def login(request: web.Request) -> web.Response:
    body = await load_body(request, LoginBodySchema)
    answer = await request.app[ACCOUNTS].login(
        body["email"],
        body["password"],
        address=client_address(request),
        user_agent=request.headers.get("User-Agent", ""),
    )
    return _with_cookie(request, answer, 200)


@api("Sign out: revoke this token everywhere", status=204, tags=TAGS, errors=(401, 403))
async def logout(request: web.Request) -> web.Response:
    await request.app[ACCOUNTS].logout(current_user(request))
    response = web.Response(status=204)
    response.del_cookie(SESSION_COOKIE, path="/", secure=_cookie_secure(request))
    return response


@api("The signed-in user", response=AccountUserSchema, tags=TAGS, errors=(401,))
async def get_me(request: web.Request) -> web.Response:
    user = current_user(request)
    if user.record is not None:
        return json_response(user.record)
    return json_response(await request.app[ACCOUNTS].get_user(user.id))


@api(
    "Update the display name or profile",
    body=MePatchSchema,
    response=AccountUserSchema,
    tags=TAGS,
    errors=(400, 401, 403, 415, 422),
)
async def patch_me(request: web.Request) -> web.Response:
    user = current_user(request)
    changes = await load_body(request, MePatchSchema)
    updated = await request.app[ACCOUNTS].update_me(user.id, changes)
    await request.app[ONBOARDING].notify_onboarding_changed(user.id)  # profile / goals steps
    return json_response(updated)
