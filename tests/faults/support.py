"""Shared helpers of the fault scenarios: loop-lag probe, condition waits, resource counts."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp.test_utils import TestClient

from tests.helpers import Authed, register_user


class LagProbe:
    """A ticker task measuring event-loop lag: how late each 10 ms sleep wakes up."""

    def __init__(self, interval_s: float = 0.01) -> None:
        self.interval_s = interval_s
        self.max_lag_s = 0.0
        self.lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(self.interval_s)  # the probe's tick, not a wait for a condition
            lag = time.perf_counter() - start - self.interval_s
            self.lags.append(lag)
            self.max_lag_s = max(self.max_lag_s, lag)

    def p95(self) -> float:
        """The 95th percentile lag: robust to one scheduler hiccup on a busy 2-core host."""
        if not self.lags:
            return 0.0
        ordered = sorted(self.lags)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]

    async def __aenter__(self) -> LagProbe:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def wait_for(
    predicate: Callable[[], bool | Awaitable[bool]],
    within_s: float,
    every_s: float = 0.05,
    state: Callable[[], Any] | None = None,
) -> float:
    """Poll ``predicate`` (sync or async) until true; returns the seconds it took.

    Used for states that have no event to await (pool sizes, fd counts, a process's view of
    Redis); raises TimeoutError after ``within_s``.
    """
    started = time.monotonic()
    try:
        async with asyncio.timeout(within_s):
            while True:
                value = predicate()
                if not isinstance(value, bool):
                    value = await value
                if value:
                    return time.monotonic() - started
                await asyncio.sleep(every_s)
    except TimeoutError:
        raise AssertionError(
            f"condition not met within {within_s}s; state: {state() if state else '?'}"
        ) from None


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def own_tcp_ports() -> set[int]:
    """Local ports of this process's TCP sockets (Linux ``/proc``), to tell our connections
    from other processes' when a server lists its clients."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    ports = set()
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        try:
            with open(table, encoding="ascii") as fh:
                rows = fh.read().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if len(cols) > 9 and cols[9] in inodes:
                ports.add(int(cols[1].rsplit(":", 1)[1], 16))
    return ports


def task_count() -> int:
    return len(asyncio.all_tasks())


@dataclass
class Tally:
    """Statuses seen by a load generator, with the bodies of unexpected ones."""

    statuses: dict[int, int] = field(default_factory=dict)
    bad: list[tuple[str, int, str]] = field(default_factory=list)
    missing_retry_after: int = 0
    durations: list[float] = field(default_factory=list)

    def add(self, label: str, status: int, body: str, headers: Any, elapsed: float) -> None:
        self.statuses[status] = self.statuses.get(status, 0) + 1
        self.durations.append(elapsed)
        if status >= 500 and status != 503:
            self.bad.append((label, status, body[:300]))
        if status in (429, 503) and "Retry-After" not in headers:
            self.missing_retry_after += 1


async def timed(tally: Tally, label: str, call: Callable[[], Awaitable[Any]]) -> tuple[int, str]:
    started = time.perf_counter()
    resp = await call()
    async with resp:
        body = await resp.text()
    tally.add(label, resp.status, body, resp.headers, time.perf_counter() - started)
    return resp.status, body


async def users(client: TestClient[Any, Any], n: int) -> list[Authed]:
    return [await register_user(client) for _ in range(n)]
