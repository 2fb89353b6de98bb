"""Helpers for the SSE and WebSocket tests: a tiny SSE parser over aiohttp responses."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson


@dataclass
class SseMessage:
    event: str = "message"
    id: str | None = None
    data: Any = None
    retry: int | None = None
    comments: list[str] = field(default_factory=list)


async def next_message(resp: aiohttp.ClientResponse, within: float = 5.0) -> SseMessage | None:
    """The next SSE message (comments gathered into it); None at the end of the stream."""
    msg = SseMessage()
    seen = False
    async with asyncio.timeout(within):
        while True:
            raw = await resp.content.readline()
            if not raw:
                return msg if seen else None
            line = raw.decode().rstrip("\r\n")
            if not line:
                if seen:
                    return msg
                continue
            seen = True
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if name == "":
                msg.comments.append(value)
            elif name == "event":
                msg.event = value
            elif name == "id":
                msg.id = value
            elif name == "data":
                msg.data = orjson.loads(value)
            elif name == "retry":
                msg.retry = int(value)


async def next_event(
    resp: aiohttp.ClientResponse, *, skip: tuple[str, ...] = ("metrics",), within: float = 5.0
) -> SseMessage | None:
    """The next message with data whose event is not in ``skip``."""
    async with asyncio.timeout(within):
        while True:
            msg = await next_message(resp, within)
            if msg is None:
                return None
            if msg.data is not None and msg.event not in skip:
                return msg
