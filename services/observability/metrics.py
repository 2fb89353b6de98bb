"""Prometheus metrics: one registry per app, multi-process aware.

With several worker processes, ``PROMETHEUS_MULTIPROC_DIR`` is set before they start
(``python -m server --workers N`` does it) and ``/metrics`` aggregates every process's
figures. Subsystems keep plain counters of their own, and so do the request metrics; a small
bridge task copies them into the Prometheus objects every second and before every scrape
(counters as increments, gauges as values), so the figures still add up across processes.
"""

from __future__ import annotations

import logging
import os
from bisect import bisect_left
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client import multiprocess as prom_multiprocess

from services.observability.monitor import InFlight, RequestRate

log = logging.getLogger(__name__)

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
LAG_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)

# A source returns {"counters": {(name, labels-tuple): total}, "gauges": {...},
# "global_gauges": {...}}. Gauges are this process's own figures (summed across live
# processes); global gauges are read from shared state (PostgreSQL, Redis), the same in
# every process, so they are aggregated by max instead of being counted N times.
GaugeMode = Literal["livesum", "livemax"]
GAUGE_MODES: dict[str, GaugeMode] = {"gauges": "livesum", "global_gauges": "livemax"}
Sample = Mapping[tuple[str, tuple[tuple[str, str], ...]], float]
Source = Callable[[], Mapping[str, Sample]]


def multiprocess_enabled() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


@dataclass(slots=True)
class RequestTally:
    """Requests of one route, method and status since the last flush."""

    count: int = 0
    seconds: float = 0.0
    # Observations per latency bucket: index i counts values <= LATENCY_BUCKETS[i] (and
    # above the bucket before); the last index counts those above every bound (+Inf).
    buckets: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))


def add_to_histogram(child: Any, tally: RequestTally) -> None:
    """Add a tally to a prometheus_client histogram child, as ``observe`` would have one value
    at a time: each bucket's own count (the exposition makes them cumulative) and the sum.
    Reaches into the child's value cells (``_buckets``, ``_sum``): the client has no batch
    API, and these cells are what ``observe`` increments, in one process or many."""
    for index, n in enumerate(tally.buckets):
        if n:
            child._buckets[index].inc(n)
    child._sum.inc(tally.seconds)


@dataclass
class Metrics:
    """The metric objects of one app."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    slow_ms: float = 50.0  # requests slower than this are kept for the lag monitor's log

    def __post_init__(self) -> None:
        r = self.registry
        self.requests = Counter(
            "fluentpro_http_requests", "HTTP requests", ["route", "method", "status"], registry=r
        )
        self.latency = Histogram(
            "fluentpro_http_request_seconds",
            "HTTP request latency",
            ["route", "method", "status"],
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
        self._request_tallies: dict[tuple[str, str, int], RequestTally] = {}
        # The system snapshot's requests_per_s reads this: the same count as `requests`.
        self.rate = RequestRate()
        self.inflight = InFlight(slow_ms=self.slow_ms)

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one request: a tally in plain Python here, copied into the Prometheus
        objects by :meth:`flush_requests` (each second and before every scrape), since
        their per-call locks cost every request more than the rest of the metrics."""
        tally = self._request_tallies.get((route, method, status))
        if tally is None:
            tally = self._request_tallies[(route, method, status)] = RequestTally()
        tally.count += 1
        tally.seconds += seconds
        tally.buckets[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.rate.hit()

    def flush_requests(self) -> None:
        """Move the request tallies into the counter and the latency histogram."""
        tallies, self._request_tallies = self._request_tallies, {}
        for (route, method, status), tally in tallies.items():
            labels = (route, method, str(status))
            self.requests.labels(*labels).inc(tally.count)
            add_to_histogram(self.latency.labels(*labels), tally)

    def observe_lag(self, lag_ms: float) -> None:
        """A loop-lag monitor listener: one sample into the lag histogram."""
        self.loop_lag.observe(lag_ms / 1000)

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
                    multiprocess_mode=GAUGE_MODES[kind],
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
            for kind in ("counters", "gauges", "global_gauges"):
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
        self.flush_requests()
        self.pull_sources()
        if multiprocess_enabled():
            registry = CollectorRegistry()
            prom_multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)
