"""EnginePool: the local career engine in worker *processes*, for bulk work (batches).

The engine is pure Python: in the server's thread pool it holds the GIL, and a batch
of hundreds of items starves the event loop (measured: loop-lag p99 25-45 ms while
1,000 items ran through the thread pool). In separate processes it uses the other
cores without touching the server's GIL. Each pool process builds its own engine once,
from the catalog rows it is given (its initializer).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from services.career.catalog import Catalog
from services.career.engine import LocalCareerEngine

NICENESS = 10

# The engine of *this pool process* (set by the initializer; never used in the server
# process itself). A process-pool initializer has no other place to keep it.
_process_engine: list[LocalCareerEngine] = []


def _init_engine(rows: Mapping[str, list[dict[str, Any]]]) -> None:
    # Lower priority than the server: when the cores are busy, the event loop runs first.
    os.nice(NICENESS)
    catalog = Catalog.from_dicts(rows["skills"], rows["roles"], rows["courses"])
    _process_engine.append(LocalCareerEngine(catalog))


def _ready() -> bool:
    return bool(_process_engine)


def _recommend_roles(description: str, profile: dict[str, Any], limit: int) -> dict[str, Any]:
    return _process_engine[0].recommend_roles(description, profile, limit)


RowsLoader = Callable[[], Awaitable[Mapping[str, list[dict[str, Any]]]]]


class EnginePool:
    """Runs LocalCareerEngine.recommend_roles in ``processes`` forkserver processes.

    Nothing happens until the first call: an app that never runs a batch never loads the
    catalog rows for it nor starts a process.
    """

    def __init__(self, load_rows: RowsLoader, *, processes: int) -> None:
        self._load_rows = load_rows
        self._processes = processes
        self._executor: ProcessPoolExecutor | None = None
        self._start_lock = asyncio.Lock()

    async def _started(self) -> ProcessPoolExecutor:
        """The running pool, started on first use: every process is started from a thread,
        because a process start writes the catalog to the new process through a pipe and
        blocks until it is read, which must never happen on the event loop."""
        async with self._start_lock:
            if self._executor is not None:
                return self._executor
            rows = dict(await self._load_rows())
            executor = ProcessPoolExecutor(
                max_workers=self._processes,
                mp_context=multiprocessing.get_context("forkserver"),
                initializer=_init_engine,
                initargs=(rows,),
            )

            def warm() -> None:
                futures = [executor.submit(_ready) for _ in range(self._processes)]
                for future in futures:
                    future.result(timeout=60)

            try:
                await asyncio.to_thread(warm)
            except BaseException:
                await asyncio.to_thread(executor.shutdown, True, cancel_futures=True)
                raise
            self._executor = executor
            return executor

    async def recommend_roles(
        self, description: str, profile: Mapping[str, Any] | None, limit: int
    ) -> dict[str, Any]:
        """The engine's answer (API shape without ``source`` / ``processed_at``)."""
        executor = self._executor or await self._started()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            executor, _recommend_roles, description, dict(profile or {}), limit
        )

    async def close(self) -> None:
        """Stop the pool processes (pending calls are cancelled)."""
        if self._executor is not None:
            await asyncio.to_thread(self._executor.shutdown, True, cancel_futures=True)
            self._executor = None
