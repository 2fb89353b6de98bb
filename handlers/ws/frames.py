"""The WebSocket wire form of messages: RFC 6455 text frames, events encoded once.

An event sent to thousands of sockets is encoded once per channel name (the name the
client subscribed with) and the same frame bytes are written to every caught-up socket.
"""

from __future__ import annotations

import orjson

from services.events import Event

# Keys of this transport's encodings in ``Event.wire``: (kind, channel name).
_TEXT, _FRAME = "ws.text", "ws.frame"


def text_frame(payload: bytes) -> bytes:
    """``payload`` as one unmasked, uncompressed RFC 6455 text frame (server to client)."""
    n = len(payload)
    if n < 126:
        return b"\x81%c%s" % (n, payload)
    if n < 65536:
        return b"\x81\x7e%s%s" % (n.to_bytes(2, "big"), payload)
    return b"\x81\x7f%s%s" % (n.to_bytes(8, "big"), payload)


def event_text(ev: Event, api_channel: str) -> str:
    """The ``event`` message, built once per (event, channel name)."""
    wire = ev.wire
    if wire is None:
        wire = ev.wire = {}
    key = (_TEXT, api_channel)
    text: str | None = wire.get(key)
    if text is None:
        head = orjson.dumps(
            {"type": "event", "channel": api_channel, "event": ev.event, "id": ev.id}
        )
        text = wire[key] = (head[:-1] + b',"data":' + ev.raw + b"}").decode()
    return text


def event_frame(ev: Event, api_channel: str) -> bytes:
    """The ``event`` message as a whole text frame (uncompressed, unmasked), built once per
    (event, channel name) and written as is to every caught-up socket."""
    wire = ev.wire
    key = (_FRAME, api_channel)
    frame: bytes | None = wire.get(key) if wire is not None else None
    if frame is None:
        frame = text_frame(event_text(ev, api_channel).encode())
        ev.wire[key] = frame  # type: ignore[index]  # event_text made the dict
    return frame
