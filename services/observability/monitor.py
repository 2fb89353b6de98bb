"""Event-loop lag monitor, the in-flight request registry and a requests-per-second
counter (all per process).

The monitor samples the lag every ``interval_s``, keeps a window for percentiles, hands
each sample to its listeners (the Prometheus histogram, the load shedder) and logs one
warning per *episode* of lag over ``log_lag_ms`` (the episode ends when a sample is back
under it), naming the requests that were running — the likely culprits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Callable

log = logging.getLogger(__name__)

Listener = Callable[[float], None]


class InFlight:
    """Requests being handled now (route + start time), and recently finished slow ones.

    Maintained by the metrics middleware: one dict insert and one pop per request.
    Long-lived streams (SSE, WebSocket) are flagged so they do not crowd the culprits:
    an open stream is mostly idle, the request that blocked the loop is usually short.
    """

    def __init__(self, *, slow_ms: float = 50.0, keep: int = 32) -> None:
        self._slow_s = slow_ms / 1000
        self._running: dict[int, tuple[str, float, bool]] = {}
        self._slow: deque[tuple[str, float, float]] = deque(maxlen=keep)

    def start(self, key: int, label: str, started: float, *, stream: bool = False) -> None:
        """Register a request (``key`` unique while it runs, e.g. ``id(request)``)."""
        self._running[key] = (label, started, stream)

    def finish(self, key: int, ended: float) -> None:
        """Unregister it; a slow non-stream request is remembered for a while."""
        entry = self._running.pop(key, None)
        if entry is not None and not entry[2] and ended - entry[1] >= self._slow_s:
            self._slow.append((entry[0], entry[1], ended))

    def count(self) -> int:
        return len(self._running)

    def culprits(self, now: float, window_s: float, limit: int = 3) -> list[str]:
        """The longest-running requests now, then slow ones that ended in the last
        ``window_s`` seconds; e.g. ``["POST /api/v1/tasks running 412 ms", ...]``."""
        running = sorted(
            ((label, started) for label, started, stream in self._running.values() if not stream),
            key=lambda item: item[1],
        )
        found = [f"{label} running {(now - started) * 1000:.0f} ms" for label, started in running]
        since = now - window_s
        ended = sorted(
            (item for item in self._slow if item[2] >= since),
            key=lambda item: item[1] - item[2],
        )
        found += [f"{label} took {(end - start) * 1000:.0f} ms" for label, start, end in ended]
        streams = sum(1 for _, _, stream in self._running.values() if stream)
        out = found[:limit]
        if streams:
            out.append(f"{streams} open streams")
        return out


class LoopLagMonitor:
    """Samples the loop lag every ``interval_s``; keeps the recent samples for percentiles."""

    def __init__(
        self,
        interval_s: float,
        *,
        window: int = 600,
        log_lag_ms: float = 50.0,
        inflight: InFlight | None = None,
    ) -> None:
        self._interval_s = interval_s
        self._lags: deque[float] = deque(maxlen=window)
        self._log_lag_ms = log_lag_ms
        self._task: asyncio.Task[None] | None = None
        self._listeners: list[Listener] = []
        self.inflight = inflight
        self.max_ms = 0.0
        self.episodes = 0
        self._episode: list[float] | None = None  # [started, samples, worst] while lagging

    @property
    def interval_s(self) -> float:
        return self._interval_s

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(lag_ms)`` on every sample; returns the function that removes it."""
        self._listeners.append(listener)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return remove

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
        """Add one sample (the sampling task does; tests may inject samples)."""
        self._lags.append(lag_ms)
        self.max_ms = max(self.max_ms, lag_ms)
        for listener in list(self._listeners):
            try:
                listener(lag_ms)
            except Exception:  # a broken listener must not stop the sampling
                log.exception("loop-lag listener failed")
        if lag_ms > self._log_lag_ms:
            if self._episode is None:
                self._start_episode(lag_ms)
            else:
                self._episode[1] += 1
                self._episode[2] = max(self._episode[2], lag_ms)
        elif self._episode is not None:
            started, samples, worst = self._episode
            self._episode = None
            log.debug(
                "event loop lag back under %.0f ms after %.1f s (%d samples, worst %.1f ms)",
                self._log_lag_ms,
                time.perf_counter() - started,
                samples,
                worst,
            )

    def _start_episode(self, lag_ms: float) -> None:
        now = time.perf_counter()
        self._episode = [now, 1, lag_ms]
        self.episodes += 1
        window_s = lag_ms / 1000 + self._interval_s * 2
        culprits = self.inflight.culprits(now, window_s) if self.inflight is not None else []
        log.warning(
            "event loop lag %.1f ms (over %.0f ms); running: %s",
            lag_ms,
            self._log_lag_ms,
            "; ".join(culprits) or "no request",
            extra={"loop_lag_ms": round(lag_ms, 1), "culprits": culprits},
        )

    @property
    def lagging(self) -> bool:
        """Whether an episode of lag over the log threshold is under way."""
        return self._episode is not None

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
    """Counts requests per second (the metrics middleware feeds it: one hit per request)."""

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
