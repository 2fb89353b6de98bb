"""Counters of the real-time layer, exported later by the observability helper."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class EventStats:
    """Process-wide counters. Hot counters are plain ints; rare changes notify waiters."""

    published: int = 0
    delivered: int = 0
    direct: int = 0  # of delivered: written by the hub at once (no task switch)
    replayed: int = 0
    dropped: int = 0  # subscribers disconnected as slow consumers
    coalesced: int = 0
    revocations: int = 0
    sse_open: int = 0
    ws_open: int = 0
    queue_peak: int = 0  # the longest subscriber queue seen (bounded by config)
    hub_channels: int = 0
    hub_subscribers: int = 0
    hub_reads: int = 0  # batches of live messages read off the live connection
    hub_resyncs: int = 0  # reconnects of the live connection (each fills gaps from history)
    hub_resets: int = 0  # channels whose position the history no longer knew after one
    _waiters: list[asyncio.Future[None]] = field(default_factory=list, repr=False)

    def snapshot(self) -> dict[str, int]:
        """All counters as a plain dict."""
        return {k: v for k, v in vars(self).items() if not k.startswith("_")}

    def notify(self) -> None:
        """Wake the waiters of wait_until (called on rare changes: drops, connections)."""
        waiters, self._waiters = self._waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    async def wait_until(self, predicate: Callable[[EventStats], bool], within: float) -> None:
        """Wait (bounded) until ``predicate(self)`` holds; raises TimeoutError otherwise."""
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(within):
            while not predicate(self):
                fut: asyncio.Future[None] = loop.create_future()
                self._waiters.append(fut)
                await fut
