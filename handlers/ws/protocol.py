"""The WebSocket protocol: client message types and their replies.

Every client message is loaded with its marshmallow schema from
``handlers/schemas/realtime.py`` (the same schemas the AsyncAPI document is built from), so
what the server accepts and what it documents cannot drift apart.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from marshmallow import Schema, ValidationError

from handlers.common import check_storable
from handlers.errors import error_code
from handlers.schemas.realtime import CLIENT_MESSAGES
from handlers.ws.connection import WsConnection
from services.clock import now_iso
from services.errors import NotFound, ValidationFailed
from services.events import InvalidEventId

log = logging.getLogger(__name__)


class BadField(Exception):
    """A field that passed its schema but not a later check (e.g. an unknown event id)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.errors = {field: [problem]}


async def subscribe(conn: WsConnection, msg: dict[str, Any]) -> None:
    name: str = msg["channel"]
    last_id: str | None = msg.get("last_event_id")
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
    if last_id is None and sub.last_id is not None:
        # A real id to resume from after a reconnect (an id the stream never held gets
        # `reset`, so a client cannot make one up from the clock).
        reply["last_event_id"] = sub.last_id
    conn.send(reply)
    if sub.reset_oldest_id is not None:
        conn.send({"type": "reset", "channel": name, "oldest_id": sub.reset_oldest_id})
    conn.start_pump(name, sub)


async def unsubscribe(conn: WsConnection, msg: dict[str, Any]) -> None:
    name: str = msg["channel"]
    if not conn.stop_pump(name):
        raise NotFound("Not subscribed to this channel.")
    reply: dict[str, Any] = {"type": "unsubscribed", "channel": name}
    if msg.get("id") is not None:
        reply["id"] = msg["id"]
    conn.send(reply)


async def ping(conn: WsConnection, msg: dict[str, Any]) -> None:
    reply: dict[str, Any] = {"type": "pong", "server_time": now_iso()}
    if msg.get("id") is not None:
        reply["id"] = msg["id"]
    conn.send(reply)


async def interaction(conn: WsConnection, msg: dict[str, Any]) -> None:
    body = msg["event"]  # as the client sent it: the sink loads it as POST /interactions does
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
    msg_id = msg["id"]
    text: str = msg["message"]
    if conn.deps.chat is None:
        conn.error("unavailable", "The chat is not available here.", msg_id)
        return
    if conn.deps.shed is not None:
        conn.deps.shed("chat")  # the loop is overloaded: an "unavailable" error
    conn.start_chat(msg_id, text)


async def auth(conn: WsConnection, msg: dict[str, Any]) -> None:
    conn.error("bad_request", "Already authenticated.", msg.get("id"))


COMMANDS: dict[str, Callable[[WsConnection, dict[str, Any]], Awaitable[None]]] = {
    "subscribe": subscribe,
    "unsubscribe": unsubscribe,
    "ping": ping,
    "interaction": interaction,
    "chat": chat,
    "auth": auth,
}


# One instance per type: marshmallow schemas hold no per-load state.
SCHEMAS: dict[str, Schema] = {name: schema() for name, schema in CLIENT_MESSAGES.items()}
if set(SCHEMAS) != set(COMMANDS):  # a type documented but not handled, or the reverse
    raise RuntimeError(f"WebSocket schemas and handlers differ: {set(SCHEMAS) ^ set(COMMANDS)}")


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
        raw = parse(text)
    except orjson.JSONDecodeError:
        conn.error("bad_json", "The message is not valid JSON.")
        return
    except TypeError:
        conn.error("bad_message", 'Each message must be a JSON object with a "type".')
        return
    raw_id = raw.get("id")
    msg_id = raw_id if isinstance(raw_id, (str, int)) and not isinstance(raw_id, bool) else None
    try:
        check_storable(raw)
    except ValidationFailed as exc:
        detail = f"{exc.detail} {_first(exc.errors)}".strip()
        conn.error("invalid_fields", detail, msg_id, errors=exc.errors or None)
        return
    kind: str = raw["type"]
    handler = COMMANDS.get(kind)
    if handler is None:
        conn.error("unknown_type", f"Unknown message type {kind[:40]!r}.", msg_id)
        return
    try:
        msg = SCHEMAS[kind].load(raw)
    except ValidationError as exc:
        conn.error("invalid_fields", "Some fields are invalid.", msg_id, errors=exc.messages)
        return
    if kind == "interaction":
        msg["event"] = raw["event"]
    try:
        await handler(conn, msg)
    except BadField as exc:
        conn.error("invalid_fields", "Some fields are invalid.", msg_id, errors=exc.errors)
    except ValidationFailed as exc:
        conn.error("invalid_fields", exc.detail, msg_id, errors=exc.errors or None)
    except Exception as exc:
        code, message = error_code(exc)
        if code == "internal":
            conn.log.exception("message %s failed", kind)
        conn.error(code, message, msg_id)
