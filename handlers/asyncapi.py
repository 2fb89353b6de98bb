"""The AsyncAPI 3.0 document of the event channels (SSE streams and the WebSocket).

Built from the marshmallow schemas in ``handlers/schemas/realtime.py``, the ones the
WebSocket protocol loads client messages with, converted to JSON Schema by the same
apispec plugin as the OpenAPI document. It describes the server: it *sends* the SSE
events and the WebSocket server messages, and *receives* the WebSocket client messages.
"""

from __future__ import annotations

import re
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema

from handlers.schemas.realtime import (
    CLIENT_MESSAGES,
    SERVER_MESSAGES,
    SSE_STREAMS,
    WS_CHANNELS,
)

ASYNCAPI_VERSION = "3.0.0"
_KEY = re.compile(r"[^A-Za-z0-9_\-]")
_PARAM = re.compile(r"{([^}]+)}")


def _schema_name(schema: type[Schema] | Schema) -> str:
    name = (schema if isinstance(schema, type) else type(schema)).__name__
    return name[:-6] if name.endswith("Schema") and len(name) > 6 else name


def _key(name: str) -> str:
    """A message name as a map key AsyncAPI accepts (``chat.delta`` → ``chat_delta``)."""
    return _KEY.sub("_", name)


class _Schemas:
    """Marshmallow schemas → JSON Schema components, through apispec."""

    def __init__(self) -> None:
        self._spec = APISpec(
            title="-",
            version="-",
            openapi_version="3.1.0",
            plugins=[MarshmallowPlugin(schema_name_resolver=_schema_name)],
        )
        self._names: set[str] = set()

    def ref(self, schema: type[Schema]) -> dict[str, str]:
        name = _schema_name(schema)
        if name not in self._names:
            self._names.add(name)
            self._spec.components.schema(name, schema=schema)
        return {"$ref": f"#/components/schemas/{name}"}

    def components(self) -> dict[str, Any]:
        return dict(self._spec.to_dict().get("components", {}).get("schemas", {}))


def _message(name: str, schema: type[Schema], schemas: _Schemas, **extra: Any) -> dict[str, Any]:
    msg: dict[str, Any] = {"name": name, "payload": schemas.ref(schema)}
    doc = (schema.__doc__ or "").strip()
    if doc:
        msg["summary"] = " ".join(doc.split())
    msg.update(extra)
    return msg


def _sse_channels(schemas: _Schemas) -> tuple[dict[str, Any], dict[str, Any]]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for key, stream in SSE_STREAMS.items():
        messages = {
            _key(event): _message(
                event,
                schema,
                schemas,
                description=f"`event: {event}`, `id: <opaque, ordered>`, `data: <JSON>`.",
            )
            for event, schema in stream.events.items()
        }
        channel: dict[str, Any] = {
            "address": stream.address,
            "title": f"SSE {stream.address}",
            "description": stream.description
            + " `text/event-stream`; `retry:` first, `: ping` at least every 15 s"
            + ("; reconnect with `Last-Event-ID` to resume." if stream.resumable else "."),
            "servers": [{"$ref": "#/servers/http"}],
            "messages": messages,
        }
        params = _PARAM.findall(stream.address)
        if params:
            channel["parameters"] = {p: {"description": f"The {p}."} for p in params}
        channels[key] = channel
        operations[f"{key}Send"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{key}"},
            "summary": f"Events of GET {stream.address}",
            "messages": [{"$ref": f"#/channels/{key}/messages/{m}"} for m in messages],
        }
    return channels, operations


def _ws_channel(schemas: _Schemas) -> tuple[dict[str, Any], dict[str, Any]]:
    client = {
        _key(name): _message(name, schema, schemas) for name, schema in CLIENT_MESSAGES.items()
    }
    server = {
        _key(name): _message(name, schema, schemas) for name, schema in SERVER_MESSAGES.items()
    }
    lines = [
        "One JSON object per text frame, each with `type`. Authenticate with the cookie, "
        "an `Authorization: Bearer` header, or a first `auth` message within 5 s. Close "
        "codes: 1008 policy (no auth, revoked session, message flood), 1009 frame over "
        "64 KiB, 1012 server restart (reconnect and resume), 1013 slow consumer (resume "
        "with `last_event_id`).",
        "",
        "Channels for `subscribe`, and the `event` names each delivers (the `data` schema "
        "in brackets):",
    ]
    for name, events in WS_CHANNELS.items():
        named = ", ".join(f"`{e}` ({_schema_name(s)})" for e, s in events.items())
        for schema in events.values():
            schemas.ref(schema)  # listed in components, so the names above resolve
        lines.append(f"- `{name}`: {named}")
    channel: dict[str, Any] = {
        "address": "/ws",
        "title": "WebSocket /ws",
        "description": "\n".join(lines),
        "servers": [{"$ref": "#/servers/ws"}],
        "messages": {**client, **server},
    }
    operations = {
        "wsReceive": {
            "action": "receive",
            "channel": {"$ref": "#/channels/websocket"},
            "summary": "Messages a client sends",
            "messages": [{"$ref": f"#/channels/websocket/messages/{m}"} for m in client],
        },
        "wsSend": {
            "action": "send",
            "channel": {"$ref": "#/channels/websocket"},
            "summary": "Messages the server sends",
            "messages": [{"$ref": f"#/channels/websocket/messages/{m}"} for m in server],
        },
    }
    return {"websocket": channel}, operations


def build_asyncapi(host: str = "127.0.0.1:8080", *, tls: bool = False) -> dict[str, Any]:
    """The AsyncAPI 3.0 document for a server reached at ``host``."""
    schemas = _Schemas()
    sse_channels, sse_ops = _sse_channels(schemas)
    ws_channels, ws_ops = _ws_channel(schemas)
    return {
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": "FluentPro events",
            "version": "1.0.0",
            "description": (
                "Live events of the FluentPro API: Server-Sent Events streams and the "
                "WebSocket. Every event has an opaque, ordered id; a client that reconnects "
                "with it (SSE `Last-Event-ID`, WebSocket `last_event_id`) receives what it "
                "missed, on any server process. REST routes: /api/openapi.json."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "http": {
                "host": host,
                "protocol": "https" if tls else "http",
                "description": "SSE streams (text/event-stream), authenticated like REST.",
            },
            "ws": {
                "host": host,
                "protocol": "wss" if tls else "ws",
                "description": "The WebSocket endpoint.",
            },
        },
        "channels": {**sse_channels, **ws_channels},
        "operations": {**sse_ops, **ws_ops},
        "components": {"schemas": schemas.components()},
    }
