"""Event-loop lag monitor and a requests-per-second counter (both per process)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque

log = logging.getLogger(__name__)

LOG_EVERY_S = 5.0


class LoopLagMonitor:
    """Samples the loop lag every ``interval_s``; keeps the recent samples for percentiles."""

    def __init__(self, interval_s: float, *, window: int = 600, log_lag_ms: float = 50.0) -> None:
        self._interval_s = interval_s
        self._lags: deque[float] = deque(maxlen=window)
        self._log_lag_ms = log_lag_ms
        self._task: asyncio.Task[None] | None = None
        self.max_ms = 0.0
        self._logged_at = 0.0
        self._over = 0
        self._worst = 0.0

    def start(self) -> None:
        """Start sampling (the owner calls ``stop``)."""
        self._task = asyncio.create_task(self._run(), name="loop-lag-monitor")

    async def stop(self) -> None:
        """Cancel and await the sampling task."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(self._interval_s)
            lag_ms = max(0.0, (time.perf_counter() - started - self._interval_s) * 1000)
            self.record(lag_ms)

    def record(self, lag_ms: float) -> None:
        """Add one sample."""
        self._lags.append(lag_ms)
        self.max_ms = max(self.max_ms, lag_ms)
        if lag_ms > self._log_lag_ms:
            self._over += 1
            self._worst = max(self._worst, lag_ms)
            now = time.monotonic()
            if now - self._logged_at >= LOG_EVERY_S:  # one line per period, not per sample
                log.warning(
                    "event loop lag up to %.1f ms (%d samples over %.0f ms)",
                    self._worst,
                    self._over,
                    self._log_lag_ms,
                    extra={"loop_lag_ms": self._worst},
                )
                self._logged_at, self._over, self._worst = now, 0, 0.0

    def recent_ms(self) -> float:
        """The latest sample (0 before the first)."""
        return self._lags[-1] if self._lags else 0.0

    def summary(self) -> dict[str, float]:
        """``{p50, p99, max}`` in ms over the recent window."""
        lags = sorted(self._lags)
        if not lags:
            return {"p50": 0.0, "p99": 0.0, "max": 0.0}

        def pct(p: float) -> float:
            return round(lags[min(len(lags) - 1, int(p * len(lags)))], 2)

        return {"p50": pct(0.5), "p99": pct(0.99), "max": round(lags[-1], 2)}


class RequestRate:
    """Counts responses per second (fed by the on_response_prepare signal)."""

    def __init__(self, *, window_s: int = 5) -> None:
        self._window_s = window_s
        self._buckets: deque[list[int]] = deque(maxlen=window_s + 1)  # [second, count]

    def hit(self) -> None:
        """Count one request."""
        now = int(time.monotonic())
        buckets = self._buckets
        if buckets and buckets[-1][0] == now:
            buckets[-1][1] += 1
        else:
            buckets.append([now, 1])

    def per_second(self) -> float:
        """The mean rate over the last complete seconds of the window."""
        now = int(time.monotonic())
        done = [c for s, c in self._buckets if now - self._window_s <= s < now]
        return round(sum(done) / self._window_s, 2)
