"""Asyncio helpers for the AI services."""

from __future__ import annotations

import asyncio


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
