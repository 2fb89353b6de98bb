"""The WebSocket protocol of API.md: client message types and their replies."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from redis.exceptions import RedisError

from handlers.common import check_storable
from server.ws.connection import WsConnection
from services.errors import DomainError, Forbidden, NotFound, RateLimited, ValidationFailed
from services.events import InvalidEventId

log = logging.getLogger(__name__)

MAX_CHAT_CHARS = 4000


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat()


def error_code(exc: BaseException) -> tuple[str, str]:
    """The ``error`` code and message for an exception (domain errors mapped in one place)."""
    if isinstance(exc, NotFound):
        return "not_found", exc.detail
    if isinstance(exc, Forbidden):
        return "forbidden", exc.detail
    if isinstance(exc, ValidationFailed):
        return "invalid_fields", exc.detail
    if isinstance(exc, RateLimited):
        return "rate_limited", exc.detail
    if isinstance(exc, DomainError) and exc.status == 503:
        return "unavailable", exc.detail
    if isinstance(exc, DomainError) and exc.status < 500:
        return "bad_request", exc.detail
    if isinstance(exc, (RedisError, OSError, TimeoutError)):
        return "unavailable", "A dependency is unavailable; retry shortly."
    return "internal", "An unexpected error occurred."


class BadField(Exception):
    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")


def _str(msg: dict[str, Any], key: str, *, required: bool = True, max_len: int = 200) -> Any:
    value = msg.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value or len(value) > max_len:
        raise BadField(key, f"must be a non-empty string of at most {max_len} characters")
    return value


async def subscribe(conn: WsConnection, msg: dict[str, Any]) -> None:
    name = _str(msg, "channel")
    last_id = _str(msg, "last_event_id", required=False, max_len=64)
    if name not in conn.pumps and len(conn.pumps) >= conn.deps.max_subscriptions:
        raise ValidationFailed("Too many subscriptions on this connection.")
    channel = await conn.deps.access.resolve(conn.user, name)
    try:
        sub = await conn.deps.hub.subscribe(channel, last_id)
    except InvalidEventId:
        raise BadField("last_event_id", "not an event id") from None
    reply: dict[str, Any] = {"type": "subscribed", "channel": name}
    if msg.get("id") is not None:
        reply["id"] = msg["id"]
    conn.send(reply)
    if sub.reset_oldest_id is not None:
        conn.send({"type": "reset", "channel": name, "oldest_id": sub.reset_oldest_id})
    conn.start_pump(name, sub)


async def unsubscribe(conn: WsConnection, msg: dict[str, Any]) -> None:
    name = _str(msg, "channel")
    if not conn.stop_pump(name):
        raise NotFound("Not subscribed to this channel.")
    reply: dict[str, Any] = {"type": "unsubscribed", "channel": name}
    if msg.get("id") is not None:
        reply["id"] = msg["id"]
    conn.send(reply)


async def ping(conn: WsConnection, msg: dict[str, Any]) -> None:
    reply: dict[str, Any] = {"type": "pong", "server_time": _now()}
    if msg.get("id") is not None:
        reply["id"] = msg["id"]
    conn.send(reply)


async def interaction(conn: WsConnection, msg: dict[str, Any]) -> None:
    body = msg.get("event")
    if not isinstance(body, dict):
        raise BadField("event", "must be an object (the body of POST /interactions)")
    sink = conn.deps.interactions
    if sink is None:
        conn.error("unavailable", "Interactions are not available here.", msg.get("id"))
        return
    result = await sink(conn.user, body)
    reply: dict[str, Any] = {"type": "ack", "id": result.get("id")}
    if msg.get("id") is not None:
        reply["ref"] = msg["id"]
    conn.send(reply)


async def chat(conn: WsConnection, msg: dict[str, Any]) -> None:
    msg_id = msg.get("id")
    if not isinstance(msg_id, (str, int)) or isinstance(msg_id, bool):
        raise BadField("id", "required: a string or an integer naming this chat turn")
    text = _str(msg, "message", max_len=MAX_CHAT_CHARS)
    if conn.deps.chat is None:
        conn.error("unavailable", "The chat is not available here.", msg_id)
        return
    if conn.deps.shed is not None:
        conn.deps.shed("chat")  # the loop is overloaded: an "unavailable" error
    conn.start_chat(msg_id, text)


async def auth(conn: WsConnection, msg: dict[str, Any]) -> None:
    conn.error("bad_request", "Already authenticated.", msg.get("id"))


HANDLERS: dict[str, Callable[[WsConnection, dict[str, Any]], Awaitable[None]]] = {
    "subscribe": subscribe,
    "unsubscribe": unsubscribe,
    "ping": ping,
    "interaction": interaction,
    "chat": chat,
    "auth": auth,
}


def parse(text: str) -> dict[str, Any]:
    """A client message as a dict with a string ``type``; ValueError otherwise.

    orjson refuses NaN, Infinity and integers beyond 64 bits as malformed JSON; what is
    well-formed but unstorable (NUL, lone surrogates) is refused as REST refuses it."""
    msg = orjson.loads(text)
    if not isinstance(msg, dict) or not isinstance(msg.get("type"), str):
        raise TypeError("not an object with a type")
    return msg


def _first(errors: Any) -> str:
    if isinstance(errors, dict) and errors:
        field, messages = next(iter(errors.items()))
        return f"{field}: {messages[0] if isinstance(messages, list) else messages}"
    return ""


async def handle_message(conn: WsConnection, text: str) -> None:
    """Dispatch one text frame; every problem becomes an ``error`` message."""
    try:
        msg = parse(text)
    except orjson.JSONDecodeError:
        conn.error("bad_json", "The message is not valid JSON.")
        return
    except TypeError:
        conn.error("bad_message", 'Each message must be a JSON object with a "type".')
        return
    msg_id = msg.get("id")
    try:
        check_storable(msg)
    except ValidationFailed as exc:
        conn.error("invalid_fields", f"{exc.detail} {_first(exc.errors)}".strip(), msg_id)
        return
    handler = HANDLERS.get(msg["type"])
    if handler is None:
        conn.error("unknown_type", f"Unknown message type {msg['type'][:40]!r}.", msg_id)
        return
    try:
        await handler(conn, msg)
    except BadField as exc:
        conn.error("invalid_fields", str(exc), msg_id)
    except Exception as exc:
        code, message = error_code(exc)
        if code == "internal":
            conn.log.exception("message %s failed", msg["type"])
        conn.error(code, message, msg_id)
