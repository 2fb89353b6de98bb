"""Writes to long responses that hold server resources (an export's database snapshot, a
course stream's AI call): a client that stops reading is dropped after a deadline instead of
holding them for as long as TCP lets it (security review 2026-12-07, finding 1)."""

from __future__ import annotations

import asyncio

from aiohttp import web


async def write_or_drop(
    request: web.Request, response: web.StreamResponse, data: bytes, timeout_s: float
) -> None:
    """``response.write(data)`` within *timeout_s*; past it the connection is aborted and
    ConnectionResetError raised, so the caller's "client went away" path releases all."""
    try:
        async with asyncio.timeout(timeout_s):
            await response.write(data)
    except TimeoutError:
        if request.transport is not None:
            request.transport.abort()
        raise ConnectionResetError("the client stopped reading") from None
