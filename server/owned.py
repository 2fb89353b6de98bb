"""A background task owned by a cleanup context: started with the block, cancelled and
awaited when it ends (no fire-and-forget task whose exceptions vanish)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Coroutine
from typing import Any


@contextlib.asynccontextmanager
async def owned_task(coro: Coroutine[Any, Any, None], *, name: str) -> AsyncIterator[None]:
    """Run ``coro`` as a task for the life of the ``async with`` block."""
    task = asyncio.create_task(coro, name=name)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
