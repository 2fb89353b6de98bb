"""Prometheus metrics: one registry per app, multi-process aware.

With several worker processes, ``PROMETHEUS_MULTIPROC_DIR`` is set before they start
(``python -m server --workers N`` does it) and ``/metrics`` aggregates every process's
figures. Subsystems keep plain counters of their own; a small bridge task copies them into
the Prometheus objects every second (counters as increments, gauges as values), so the
figures still add up across processes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prom_multiprocess

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
LAG_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)

# A source returns {"counters": {(name, labels-tuple): total}, "gauges": {...}}.
Sample = Mapping[tuple[str, tuple[tuple[str, str], ...]], float]
Source = Callable[[], Mapping[str, Sample]]


def multiprocess_enabled() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


@dataclass
class Metrics:
    """The metric objects of one app."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        r = self.registry
        self.requests = Counter(
            "fluentpro_http_requests", "HTTP requests", ["route", "method", "status"], registry=r
        )
        self.latency = Histogram(
            "fluentpro_http_request_seconds",
            "HTTP request latency",
            ["route", "method"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.loop_lag = Histogram(
            "fluentpro_event_loop_lag_seconds", "Event-loop lag", buckets=LAG_BUCKETS, registry=r
        )
        self.shed = Counter(
            "fluentpro_load_shed", "Requests refused because the loop lagged", ["kind"], registry=r
        )
        self._counters: dict[str, Counter] = {}
        self._gauges: dict[str, Gauge] = {}
        self._last: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
        self.sources: list[Source] = []
        self._requests_total = 0
        self._rate_mark = (time.monotonic(), 0)
        self.requests_per_s = 0.0

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route, method).observe(seconds)
        self._requests_total += 1

    def tick_rate(self) -> float:
        """Requests per second since the previous call (for the system snapshot)."""
        now = time.monotonic()
        then, count = self._rate_mark
        if now - then >= 0.5:
            self.requests_per_s = (self._requests_total - count) / (now - then)
            self._rate_mark = (now, self._requests_total)
        return self.requests_per_s

    def _metric(self, kind: str, name: str, labelnames: tuple[str, ...]) -> Counter | Gauge:
        table: dict[str, Any] = self._counters if kind == "counters" else self._gauges
        metric = table.get(name)
        if metric is None:
            if kind == "counters":
                metric = Counter(name, name.replace("_", " "), labelnames, registry=self.registry)
            else:
                metric = Gauge(
                    name,
                    name.replace("_", " "),
                    labelnames,
                    registry=self.registry,
                    multiprocess_mode="livesum",
                )
            table[name] = metric
        return metric

    def pull_sources(self) -> None:
        """Copy the subsystems' own counters and gauges into Prometheus objects."""
        for source in list(self.sources):
            try:
                samples = source()
            except Exception:  # a broken source must not stop the others
                log.exception("metrics source failed")
                continue
            for kind in ("counters", "gauges"):
                for (name, labels), value in samples.get(kind, {}).items():
                    names = tuple(k for k, _ in labels)
                    metric = self._metric(kind, name, names)
                    child = metric.labels(*(v for _, v in labels)) if names else metric
                    if kind == "counters":
                        key = (name, labels)
                        delta = value - self._last.get(key, 0.0)
                        if delta > 0:
                            child.inc(delta)  # type: ignore[union-attr]
                        self._last[key] = value
                    else:
                        child.set(value)  # type: ignore[union-attr]

    def render(self) -> bytes:
        """The Prometheus text exposition (aggregated across processes when enabled)."""
        self.pull_sources()
        if multiprocess_enabled():
            registry = CollectorRegistry()
            prom_multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)


@web.middleware
async def metrics_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Count requests and time them by route template (never by raw path)."""
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else "unmatched"
        from server.keys import METRICS

        metrics = request.app.get(METRICS)
        if metrics is not None:
            metrics.observe_request(route, request.method, status, time.perf_counter() - started)


async def metrics_ctx(app: web.Application) -> AsyncIterator[None]:
    """Create the app's metrics and the bridge task that pulls subsystem counters."""
    from server.keys import METRICS

    metrics = Metrics()
    app[METRICS] = metrics

    async def bridge() -> None:
        while True:
            await asyncio.sleep(1.0)
            metrics.pull_sources()
            metrics.tick_rate()

    task = asyncio.create_task(bridge(), name="metrics-bridge")
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def metrics_endpoint(request: web.Request) -> web.Response:
    from server.keys import METRICS

    body = request.app[METRICS].render()
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})
