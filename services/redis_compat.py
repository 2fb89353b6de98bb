"""Make redis-py's asyncio client honour task cancellation on Python 3.11.

redis-py (8.x) wraps socket writes in ``asyncio.wait_for``. On Python 3.11 that function
drops a cancellation arriving as the inner write completes: the cancelled task runs on
(seen here: a hub task that never stopped, an app teardown that hung). Python 3.12
reimplemented ``wait_for`` on top of ``asyncio.timeout``, which does not lose cancels; this
module gives redis-py's connection module that implementation, and nothing else.
"""

from __future__ import annotations

import asyncio
import sys
import types
from collections.abc import Awaitable
from typing import Any, TypeVar

T = TypeVar("T")


async def wait_for(aw: Awaitable[T], timeout: float | None) -> T:  # noqa: ASYNC109
    """``asyncio.wait_for`` with Python 3.12 semantics (cancellation is never swallowed)."""
    if timeout is None:
        return await aw
    async with asyncio.timeout(timeout):
        return await aw


def _asyncio_with_safe_wait_for() -> types.ModuleType:
    proxy = types.ModuleType("asyncio_safe_wait_for")
    proxy.__dict__.update(asyncio.__dict__)
    proxy.wait_for = wait_for  # type: ignore[attr-defined]
    return proxy


def install() -> None:
    """Patch redis.asyncio.connection's view of asyncio (idempotent; no-op on 3.12+)."""
    if sys.version_info >= (3, 12):
        return
    import redis.asyncio.connection as connection

    current: Any = connection.asyncio
    if getattr(current, "wait_for", None) is not wait_for:
        connection.asyncio = _asyncio_with_safe_wait_for()  # type: ignore[attr-defined]
