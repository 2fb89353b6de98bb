"""SystemSnapshot: the admin's live view, assembled from pluggable sources."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable, Mapping
from typing import Any

from services.clock import now_iso
from services.realtime_ports import BreakerStatesProvider, TaskCountsProvider

log = logging.getLogger(__name__)

Source = Callable[[], Any]


class SystemSnapshot:
    """Collects ``{timestamp, loop_lag_ms, connections, breakers, tasks, requests_per_s}``.

    The breaker and task sources are looked up at each collection (they may be registered
    later); a missing or failing source yields an empty map / zeros.
    """

    def __init__(
        self,
        *,
        loop_lag: Callable[[], Mapping[str, float]],
        connections: Callable[[], Mapping[str, int]],
        requests_per_s: Callable[[], float],
        breakers: Callable[[], BreakerStatesProvider | None] = lambda: None,
        tasks: Callable[[], TaskCountsProvider | None] = lambda: None,
        timeout_s: float = 0.5,
    ) -> None:
        self._loop_lag = loop_lag
        self._connections = connections
        self._rps = requests_per_s
        self._breakers = breakers
        self._tasks = tasks
        self._timeout_s = timeout_s
        self._process = {"pid": os.getpid(), "host": socket.gethostname()}

    async def collect(self) -> dict[str, Any]:
        """One snapshot (bounded in time)."""
        breakers: dict[str, str] = dict(await self._optional(self._breakers(), {}))
        tasks = {"queued": 0, "running": 0}
        tasks.update(await self._optional(self._tasks(), {}))
        return {
            "timestamp": now_iso(),
            "loop_lag_ms": dict(self._loop_lag()),
            "connections": dict(self._connections()),
            "breakers": breakers,
            "tasks": tasks,
            "requests_per_s": self._rps(),
            "process": self._process,
        }

    async def _optional(self, provider: Any, default: dict[str, Any]) -> Mapping[str, Any]:
        if provider is None:
            return default
        try:
            async with asyncio.timeout(self._timeout_s):
                return dict(await provider())
        except Exception as exc:
            log.warning("system snapshot source failed (%s)", exc.__class__.__name__)
            return default
