"""A bounded queue of users whose recent activity needs analysing, drained by worker tasks.

The queue holds user ids, not interactions: an analysis reads the user's recent history
from PostgreSQL, so one analysis covers every interaction stored before it. A user already
waiting is not queued twice (coalescing); when the queue is full the submission is dropped
(and counted) — the interaction itself is already stored and the user's next analysis
sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

Analyse = Callable[[str], Awaitable[Any]]


class AnalysisQueue:
    """Owner of the analysis workers: ``start()`` in a cleanup context, ``stop()`` on exit."""

    def __init__(self, analyse: Analyse, *, maxsize: int, workers: int, timeout_s: float) -> None:
        self._analyse = analyse
        self._queue: asyncio.Queue[str] = asyncio.Queue(maxsize=maxsize)
        self._pending: set[str] = set()
        self._workers_n = workers
        self._timeout_s = timeout_s
        self._tasks: list[asyncio.Task[None]] = []
        self.submitted = 0
        self.dropped = 0
        self.failed = 0

    def submit(self, user_id: str) -> bool:
        """Ask for an analysis of the user's activity without waiting; False when dropped."""
        if user_id in self._pending:
            return True
        try:
            self._queue.put_nowait(user_id)
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning("analysis queue full; user %s is analysed on their next event", user_id)
            return False
        self._pending.add(user_id)
        self.submitted += 1
        return True

    @property
    def depth(self) -> int:
        """Users waiting for an analysis."""
        return self._queue.qsize()

    async def join(self) -> None:
        """Wait until every submitted analysis has finished (tests, graceful shutdown)."""
        await self._queue.join()

    def start(self) -> None:
        """Start the worker tasks."""
        for n in range(self._workers_n):
            self._tasks.append(asyncio.create_task(self._work(), name=f"analysis-worker-{n}"))

    async def stop(self) -> None:
        """Cancel the workers and wait for them to end."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def _work(self) -> None:
        while True:
            user_id = await self._queue.get()
            self._pending.discard(user_id)  # activity from now on queues a fresh analysis
            try:
                async with asyncio.timeout(self._timeout_s):
                    await self._analyse(user_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                self.failed += 1
                log.exception("activity analysis failed for user %s", user_id)
            finally:
                self._queue.task_done()
