"""Give libraries Python 3.12's ``asyncio.wait_for`` on Python 3.11.

On 3.11, ``asyncio.wait_for`` drops a cancellation that arrives as the inner awaitable
completes: the cancelled task runs on (seen here: an app teardown hanging on a sweeper task
stuck "cancelling", and redis calls ignoring a client that went away). redis-py, aiopg and
procrastinate all call ``asyncio.wait_for`` on their hot paths. Python 3.12 rebuilt
``wait_for`` on ``asyncio.timeout``, which never loses a cancel; ``patch`` hands that
implementation to one library module's view of ``asyncio`` and changes nothing else.

The one place for this fix: ``install()`` is called explicitly by the composition root
(``create_app``, the worker and CLI entry points) and by the test suite's conftest, never
as a side effect of an import. ``reraise_swallowed_cancel`` covers the calls made before
the patch could apply (a cancel already swallowed inside a library).
"""

from __future__ import annotations

import asyncio
import importlib
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


def patch(module_name: str) -> None:
    """Make ``module_name`` use the safe ``wait_for`` (idempotent; no-op on 3.12+)."""
    if sys.version_info >= (3, 12):
        return
    module: Any = importlib.import_module(module_name)
    current = getattr(module, "asyncio", None)
    if current is not None and getattr(current, "wait_for", None) is not wait_for:
        module.asyncio = _asyncio_with_safe_wait_for()


# The library modules whose ``asyncio.wait_for`` calls sit on our hot paths.
PATCHED_MODULES = (
    "redis.asyncio.connection",
    "aiopg.connection",
    "procrastinate.utils",
    "procrastinate.contrib.aiopg.aiopg_connector",
)


def install() -> None:
    """Give every library in PATCHED_MODULES the safe ``wait_for`` (idempotent)."""
    for name in PATCHED_MODULES:
        patch(name)


def reraise_swallowed_cancel() -> None:
    """Raise ``CancelledError`` if the current task was cancelled but kept running.

    On Python 3.11, ``asyncio.wait_for`` (used by redis-py around socket writes) returns
    the inner result and drops a cancellation that arrives as the inner future completes;
    the task then runs on with ``cancelling() > 0``. Call this right after a Redis call so
    a cancelled caller (a client that went away, an expired ``asyncio.timeout``) stops.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling() > 0:
        raise asyncio.CancelledError
