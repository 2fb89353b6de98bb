"""The application's typed keys (no string keys), at the edge where they are read.

Handlers read services with ``request.app[KEY]``; the composition root (``server/ctx_*``)
stores them. Service types are named for the type checker only: at run time this module
imports no service, so it closes no import circle and any module may use it.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import redis.asyncio as aioredis
from aiohttp import web
from aiohttp_sse import EventSourceResponse

from db.pool import Database
from handlers.config import Config
from handlers.conn_registry import Closable, ConnectionRegistry
from handlers.session_expiry import SessionDeadlines

if TYPE_CHECKING:
    from services.accounts import AccountService
    from services.adaptive import AdaptiveEngine
    from services.ai.gateway import AIGateway
    from services.analysis_queue import AnalysisQueue
    from services.auth_user import Authenticator, AuthUser
    from services.breaker.registry import BreakerRegistry
    from services.career.service import CareerService
    from services.events import EventBus, EventHub, EventStats
    from services.events.access import ChannelAccess
    from services.export import ExportService
    from services.interactions import InteractionService
    from services.metrics_history import MetricsHistory
    from services.observability.metrics import Metrics
    from services.observability.monitor import LoopLagMonitor, RequestRate
    from services.observability.shedding import LoadShedder
    from services.onboarding import OnboardingService
    from services.passwords import PasswordService
    from services.realtime_ports import (
        BreakerStatesProvider,
        ChatService,
        InteractionSink,
        TaskCountsProvider,
    )
    from services.redis_clients import RedisClients
    from services.system_status import SystemSnapshot
    from services.tasks.service import TaskService
    from services.tasks.worker import TaskWorker
    from services.throttle import RateLimiter

CONFIG = web.AppKey("config", Config)
DB = web.AppKey("db", Database)
REDIS = web.AppKey("redis", aioredis.Redis)  # a RedisCluster on a cluster (same commands)
# Builds the topology's clients (single, Sentinel, Cluster): services/redis_clients.py.
REDIS_CLIENTS: web.AppKey[RedisClients] = web.AppKey("redis_clients")
CPU_POOL = web.AppKey("cpu_pool", ThreadPoolExecutor)

# Set by the auth middleware on authenticated requests.
AUTH_USER: web.RequestKey[AuthUser] = web.RequestKey("auth_user")
REQUEST_ID = web.RequestKey("request_id", str)
AUTHENTICATOR: web.AppKey[Authenticator] = web.AppKey("authenticator")

# Accounts and passwords (server/ctx_accounts.py).
ACCOUNTS: web.AppKey[AccountService] = web.AppKey("accounts")
PASSWORDS: web.AppKey[PasswordService] = web.AppKey("passwords")
RATE_LIMITER: web.AppKey[RateLimiter] = web.AppKey("rate_limiter")
METRICS: web.AppKey[Metrics] = web.AppKey("metrics")

# Real-time layer (server/ctx_realtime.py): event bus and hub, streams, system status.
EVENT_BUS: web.AppKey[EventBus] = web.AppKey("event_bus")
EVENT_HUB: web.AppKey[EventHub] = web.AppKey("event_hub")
EVENT_STATS: web.AppKey[EventStats] = web.AppKey("event_stats")
CHANNEL_ACCESS: web.AppKey[ChannelAccess] = web.AppKey("channel_access")
SSE_STREAMS = web.AppKey[ConnectionRegistry[EventSourceResponse]]("sse_streams")
WS_CONNECTIONS = web.AppKey[ConnectionRegistry[Closable]]("ws_connections")
SESSION_DEADLINES: web.AppKey[SessionDeadlines] = web.AppKey("session_deadlines")
LOOP_MONITOR: web.AppKey[LoopLagMonitor] = web.AppKey("loop_monitor")
REQUEST_RATE: web.AppKey[RequestRate] = web.AppKey("request_rate")
SHEDDER: web.AppKey[LoadShedder] = web.AppKey("shedder")
SYSTEM_SNAPSHOT: web.AppKey[SystemSnapshot] = web.AppKey("system_snapshot")
METRICS_HISTORY: web.AppKey[MetricsHistory] = web.AppKey("metrics_history")
# Optional, registered by the lead when available (absent: zeros / "unavailable").
BREAKER_STATES: web.AppKey[BreakerStatesProvider] = web.AppKey("breaker_states")
TASK_COUNTS: web.AppKey[TaskCountsProvider] = web.AppKey("task_counts")
INTERACTION_SINK: web.AppKey[InteractionSink] = web.AppKey("interaction_sink")
CHAT_SERVICE: web.AppKey[ChatService] = web.AppKey("chat_service")

# Career recommendations and the AI gateway (server/ctx_career.py).
AI_GATEWAY: web.AppKey[AIGateway] = web.AppKey("ai_gateway")
CAREER: web.AppKey[CareerService] = web.AppKey("career")

# Learning activity (server/ctx_activity.py): interactions, adaptive engine, onboarding.
ANALYSIS_QUEUE: web.AppKey[AnalysisQueue] = web.AppKey("analysis_queue")
ADAPTIVE_ENGINE: web.AppKey[AdaptiveEngine] = web.AppKey("adaptive_engine")
INTERACTIONS: web.AppKey[InteractionService] = web.AppKey("interactions")
ONBOARDING: web.AppKey[OnboardingService] = web.AppKey("onboarding")
EXPORT: web.AppKey[ExportService] = web.AppKey("export")

# Long-running tasks (server/ctx_tasks.py); TASK_WORKER only where a worker runs.
TASKS: web.AppKey[TaskService] = web.AppKey("tasks")
TASK_WORKER: web.AppKey[TaskWorker] = web.AppKey("task_worker")
# Final transitions by status since start (this process), for /metrics.
TASK_OUTCOMES = web.AppKey[dict[str, int]]("task_outcomes")

# Operations (server/ctx_ops.py).
BREAKERS: web.AppKey[BreakerRegistry] = web.AppKey("breakers")
