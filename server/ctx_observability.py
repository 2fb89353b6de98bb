"""Observability wiring: loop lag into Prometheus, the load shedder, and the figures
that need I/O to read (breaker states, task queue depth), refreshed by a small periodic
task so the metrics source stays synchronous and cheap.

Registered last in create_app: it needs the loop monitor, metrics, breakers and tasks.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web
from prometheus_client import multiprocess as prom_multiprocess

from handlers.keys import (
    BREAKER_STATES,
    CONFIG,
    LOOP_MONITOR,
    METRICS,
    SHEDDER,
    TASK_COUNTS,
    TASK_OUTCOMES,
)
from server.owned import owned_task
from services.observability.metrics import Metrics, multiprocess_enabled
from services.observability.shedding import LoadShedder

log = logging.getLogger(__name__)

Labels = tuple[tuple[str, str], ...]
Samples = dict[tuple[str, Labels], float]

# fluentpro_breaker_state: one number per state, so it can be graphed and alerted on.
BREAKER_STATE_VALUES = {"closed": 0.0, "open": 1.0, "half_open": 2.0, "isolated": 3.0}
REFRESH_TIMEOUT_S = 2.0


class SharedFigures:
    """Breaker states and task queue depth, read from shared state every interval."""

    def __init__(self, app: web.Application) -> None:
        self._app = app
        self.breakers: dict[str, str] = {}
        self.tasks: dict[str, int] = {}
        self._failing = False

    async def refresh(self) -> None:
        """One read of both (bounded in time; a failure keeps the previous figures)."""
        self.breakers = dict(await self._read(self._app.get(BREAKER_STATES), self.breakers))
        self.tasks = dict(await self._read(self._app.get(TASK_COUNTS), self.tasks))

    async def _read(
        self, provider: Callable[[], Awaitable[Mapping[str, Any]]] | None, previous: Any
    ) -> Mapping[str, Any]:
        if provider is None:
            return previous
        try:
            async with asyncio.timeout(REFRESH_TIMEOUT_S):
                found = await provider()
        except Exception as exc:
            if not self._failing:  # once per outage, not every second
                log.warning("metrics refresh failed (%s)", exc.__class__.__name__)
            self._failing = True
            return previous
        self._failing = False
        return found

    async def run(self, interval_s: float) -> None:
        while True:
            await self.refresh()
            await asyncio.sleep(interval_s)


def _source(
    figures: SharedFigures, shedder: LoadShedder, outcomes: Mapping[str, int] | None
) -> Callable[[], dict[str, Samples]]:
    def sample() -> dict[str, Samples]:
        shared: Samples = {}
        for name, state in figures.breakers.items():
            value = BREAKER_STATE_VALUES.get(state, -1.0)
            shared[("fluentpro_breaker_state", (("breaker", name),))] = value
        for state in ("queued", "running"):
            depth = float(figures.tasks.get(state, 0))
            shared[("fluentpro_task_queue_depth", (("state", state),))] = depth
        counters: Samples = {}
        for status, count in (outcomes or {}).items():
            counters[("fluentpro_tasks_finished", (("status", status),))] = float(count)
        gauges: Samples = {("fluentpro_load_shedding", ()): 1.0 if shedder.active else 0.0}
        return {"counters": counters, "gauges": gauges, "global_gauges": shared}

    return sample


async def observability_ctx(app: web.Application) -> AsyncIterator[None]:
    """Lag histogram + culprit registry, the shedder, and the shared-figures source."""
    cfg = app[CONFIG].monitor
    monitor, metrics = app[LOOP_MONITOR], app[METRICS]
    monitor.inflight = metrics.inflight
    shedder = LoadShedder.for_monitor(
        ceiling_ms=cfg.shed_lag_ms,
        recover_s=cfg.shed_recover_s,
        interval_s=cfg.sample_interval_s,
        on_shed=lambda kind: metrics.shed.labels(kind).inc(),
    )
    app[SHEDDER] = shedder
    undo_lag = monitor.add_listener(metrics.observe_lag)
    undo_shed = monitor.add_listener(shedder.observe)
    figures = SharedFigures(app)
    source = _source(figures, shedder, app.get(TASK_OUTCOMES))
    metrics.sources.append(source)
    try:
        async with owned_task(figures.run(cfg.metrics_interval_s), name="metrics-shared"):
            yield
    finally:
        metrics.sources.remove(source)
        undo_shed()
        undo_lag()


async def metrics_ctx(app: web.Application) -> AsyncIterator[None]:
    """Create the app's metrics and the bridge task that pulls subsystem counters."""
    metrics = Metrics(slow_ms=app[CONFIG].monitor.log_lag_ms)
    app[METRICS] = metrics

    async def bridge() -> None:
        while True:
            await asyncio.sleep(1.0)
            metrics.flush_requests()
            metrics.pull_sources()

    try:
        async with owned_task(bridge(), name="metrics-bridge"):
            yield
    finally:
        if multiprocess_enabled():  # drop this process's live gauges from the aggregate
            prom_multiprocess.mark_process_dead(os.getpid())
