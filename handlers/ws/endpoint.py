"""``GET /ws``: the WebSocket endpoint (protocol in handlers/ws/protocol.py)."""

from __future__ import annotations

import asyncio
import logging
import weakref
from functools import partial

import orjson
from aiohttp import WSMsgType, web

from handlers.clients import trusted_origin
from handlers.common import api
from handlers.keys import (
    AUTH_USER,
    AUTHENTICATOR,
    CHANNEL_ACCESS,
    CHAT_SERVICE,
    CONFIG,
    EVENT_HUB,
    EVENT_STATS,
    INTERACTION_SINK,
    SESSION_DEADLINES,
    WS_CONNECTIONS,
)
from handlers.shedding import shed_check
from handlers.ws.connection import POLICY_VIOLATION, TRY_AGAIN_LATER, WsConnection, WsDeps
from handlers.ws.protocol import handle_message
from services.auth_user import AuthUser
from services.errors import Forbidden, RateLimited

log = logging.getLogger(__name__)


_app_deps: weakref.WeakKeyDictionary[web.Application, WsDeps] = weakref.WeakKeyDictionary()


def _deps(app: web.Application) -> WsDeps:
    """What every connection needs from the application, built once per application (a
    copy per socket cost ~0.3 KB each, and thousands are open)."""
    deps = _app_deps.get(app)
    if deps is None:
        cfg = app[CONFIG]
        deps = _app_deps[app] = WsDeps(
            hub=app[EVENT_HUB],
            access=app[CHANNEL_ACCESS],
            stats=app[EVENT_STATS],
            queue_size=cfg.events.subscriber_queue,
            messages_per_s=cfg.limits.ws_messages_per_s,
            send_timeout_s=cfg.events.send_timeout_s,
            chat=app.get(CHAT_SERVICE),
            interactions=app.get(INTERACTION_SINK),
            shed=partial(shed_check, app),
            dispatch=handle_message,
        )
    return deps


def origin_allowed(request: web.Request) -> bool:
    """No Origin (not a browser), an allow-listed one, or the server's own origin."""
    origin = request.headers.get("Origin")
    return origin is None or trusted_origin(request, origin)


async def _first_message_auth(ws: web.WebSocketResponse, request: web.Request) -> AuthUser | None:
    """``{"type": "auth", "token": ...}`` as the first message, within the auth timeout."""
    timeout = request.app[CONFIG].events.ws_auth_timeout_s
    try:
        msg = await ws.receive(timeout=timeout)
    except TimeoutError:
        return None
    if msg.type != WSMsgType.TEXT:
        return None
    try:
        body = orjson.loads(msg.data)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(body, dict):  # e.g. [1, 2]: refused like any other bad first message
        return None
    token = body.get("token")
    if body.get("type") != "auth" or not isinstance(token, str) or not token:
        return None
    authenticator = request.app.get(AUTHENTICATOR)
    if authenticator is None:
        return None
    async with asyncio.timeout(timeout):
        return await authenticator.authenticate(token, via_cookie=False)


@api(
    "WebSocket: live events, chat, interactions (see API.md); upgrade with GET",
    auth=False,
    tags=("realtime",),
    errors=(401, 403, 429),
)
async def websocket(request: web.Request) -> web.StreamResponse:
    app = request.app
    cfg = app[CONFIG]
    if not origin_allowed(request):
        raise Forbidden("This Origin may not open a WebSocket here.")
    registry = app[WS_CONNECTIONS]
    user = request.get(AUTH_USER)
    if user is not None and registry.count(user.id) >= cfg.limits.ws_per_user:
        raise RateLimited("Too many open WebSockets; close one first.", retry_after=5)
    ws = web.WebSocketResponse(
        heartbeat=cfg.events.sse_ping_interval_s * 2,
        max_msg_size=cfg.limits.ws_max_frame_bytes,
        timeout=cfg.events.send_timeout_s,
        # Small JSON messages; per-connection deflate would cost CPU on every fan-out
        # and rules out the hub's direct writes (handlers/conn_registry.py: DIRECT_LIMIT).
        compress=False,
    )
    await ws.prepare(request)
    if user is None:
        user = await _first_message_auth(ws, request)
        if user is None:
            await ws.close(code=POLICY_VIOLATION, message=b"authentication required")
            return ws
    deps = _deps(app)
    conn = WsConnection(ws, request, user, deps)
    if not registry.try_add(user.id, conn, cfg.limits.ws_per_user):
        await ws.close(code=TRY_AGAIN_LATER, message=b"too many connections")
        return ws
    stats = deps.stats
    stats.ws_open += 1
    stats.notify()
    undo = deps.hub.on_revoked(user.session_id, conn.session_revoked)
    app[SESSION_DEADLINES].watch(user.expires_at, conn)
    try:
        await conn.run()
    finally:
        undo()
        registry.discard(user.id, conn)
        stats.ws_open -= 1
        stats.notify()
    return ws
