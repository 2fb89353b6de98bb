"""Cleanup contexts and hooks of the real-time layer (loop monitor, event bus and hub).

``setup_realtime(app)`` is called by create_app after the database and Redis contexts.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import AsyncIterator

from aiohttp import web
from aiohttp_sse import EventSourceResponse
from redis.exceptions import RedisError

from handlers.conn_registry import Closable, ConnectionRegistry
from handlers.keys import (
    BREAKER_STATES,
    CHANNEL_ACCESS,
    CONFIG,
    DB,
    EVENT_BUS,
    EVENT_HUB,
    EVENT_STATS,
    LOOP_MONITOR,
    METRICS,
    METRICS_HISTORY,
    REDIS,
    REDIS_CLIENTS,
    REQUEST_RATE,
    SESSION_DEADLINES,
    SSE_STREAMS,
    SYSTEM_SNAPSHOT,
    TASK_COUNTS,
    WS_CONNECTIONS,
)
from handlers.session_expiry import SessionDeadlines
from handlers.sse import stop_sse_streams
from server.owned import owned_task
from services.events import EventBus, EventHub, EventStats
from services.events.access import ChannelAccess
from services.events.channels import SYSTEM
from services.metrics_history import MetricsHistory, best_effort
from services.observability.monitor import LoopLagMonitor
from services.redis_clients import ClientSettings
from services.system_status import SystemSnapshot

log = logging.getLogger(__name__)

# RFC 6455 1012 "service restart": the server is going down and will be back (a deploy or a
# restart), so clients reconnect and resume; the contract asks for it rather than 1001.
SERVICE_RESTART = 1012


def setup_realtime(app: web.Application) -> None:
    """Register the contexts and hooks (synchronous, no I/O)."""
    app.cleanup_ctx.append(monitor_ctx)
    app.cleanup_ctx.append(realtime_ctx)
    app.on_shutdown.append(stop_sse_streams)
    app.on_shutdown.append(close_websockets)


async def monitor_ctx(app: web.Application) -> AsyncIterator[None]:
    """The loop-lag monitor (a sampling task) and the request-rate counter."""
    cfg = app[CONFIG].monitor
    monitor = LoopLagMonitor(cfg.sample_interval_s, log_lag_ms=cfg.log_lag_ms)
    app[LOOP_MONITOR] = monitor
    app[REQUEST_RATE] = app[METRICS].rate  # the metrics middleware's count: same figures
    monitor.start()
    try:
        yield
    finally:
        await monitor.stop()


async def realtime_ctx(app: web.Application) -> AsyncIterator[None]:
    """Event bus, the per-process hub (its own Redis client), registries, system metrics."""
    config = app[CONFIG]
    ev = config.events
    stats = EventStats()
    bus = EventBus(app[REDIS], ev.retention_events, ev.stream_idle_ttl_s, stats=stats)
    # The hub's live link: one pub/sub connection (shard channels + the revocation
    # broadcast; on a cluster, one per master that owns a subscribed channel) that does
    # not grow with clients; its reads poll every hub_block_ms.
    reader = app[REDIS_CLIENTS].client(
        ClientSettings(
            socket_timeout_s=ev.hub_block_ms / 1000 + 5,
            connect_timeout_s=config.redis.connect_timeout_s,
            retries=0,
            max_connections=4,
        )
    )
    # A read batch fits half a subscriber queue, so one burst never drops a fast client.
    batch = max(1, min(500, ev.subscriber_queue // 2))
    hub = EventHub(reader, bus, ev.subscriber_queue, block_ms=ev.hub_block_ms, batch=batch)
    app[EVENT_STATS] = stats
    app[EVENT_BUS] = bus
    app[EVENT_HUB] = hub
    app[CHANNEL_ACCESS] = ChannelAccess(app[DB])
    sse_streams: ConnectionRegistry[EventSourceResponse] = ConnectionRegistry()
    ws_conns: ConnectionRegistry[Closable] = ConnectionRegistry()
    app[SSE_STREAMS] = sse_streams
    app[WS_CONNECTIONS] = ws_conns
    deadlines = SessionDeadlines()
    app[SESSION_DEADLINES] = deadlines
    monitor = app[LOOP_MONITOR]
    rate = app[REQUEST_RATE]
    snapshot = SystemSnapshot(
        loop_lag=monitor.summary,
        connections=lambda: {"sse": sse_streams.count(), "ws": ws_conns.count()},
        requests_per_s=rate.per_second,
        breakers=lambda: app.get(BREAKER_STATES),
        tasks=lambda: app.get(TASK_COUNTS),
    )
    app[SYSTEM_SNAPSHOT] = snapshot
    history = MetricsHistory(app[REDIS], pid=os.getpid(), host=socket.gethostname())
    app[METRICS_HISTORY] = history
    await best_effort(history.mark_start(), "mark the process start")
    await hub.start()
    publisher = _publish_metrics(bus, snapshot, config.monitor.metrics_interval_s, history)
    try:
        async with owned_task(publisher, name="metrics"):
            yield
    finally:
        deadlines.stop()
        await hub.stop()
        await reader.aclose()


async def _publish_metrics(
    bus: EventBus, snapshot: SystemSnapshot, interval_s: float, history: MetricsHistory
) -> None:
    """Publish this process's snapshot on the ``system`` channel every interval and keep
    it in the admin history (the last hour, server-side)."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            sample = await snapshot.collect()
            await bus.publish(SYSTEM, "metrics", sample)
        except (RedisError, OSError, TimeoutError) as exc:
            log.warning("could not publish system metrics (%s)", exc.__class__.__name__)
            continue
        await best_effort(history.record(sample), "record a sample")


async def close_websockets(app: web.Application) -> None:
    """on_shutdown: close every WebSocket with 1012 (over a copy of the live set)."""
    registry = app.get(WS_CONNECTIONS)
    if registry is None:
        return
    for conn in registry.copy():
        conn.close_soon(SERVICE_RESTART, "server restart")
