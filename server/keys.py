"""Every typed application and request key, in one place (no string keys)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import redis.asyncio as aioredis
from aiohttp import web
from aiohttp_sse import EventSourceResponse

from db.pool import Database
from server.config import Config
from server.conn_registry import Closable, ConnectionRegistry
from server.metrics import Metrics
from server.monitor import LoopLagMonitor, RequestRate
from server.shedding import LoadShedder
from services.accounts import AccountService
from services.adaptive import AdaptiveEngine
from services.ai.gateway import AIGateway
from services.ai.registry import BreakerRegistry
from services.analysis_queue import AnalysisQueue
from services.auth_user import Authenticator, AuthUser
from services.career.service import CareerService
from services.events import EventBus, EventHub, EventStats
from services.events.access import ChannelAccess
from services.export import ExportService
from services.interactions import InteractionService
from services.metrics_history import MetricsHistory
from services.onboarding import OnboardingService
from services.passwords import PasswordService
from services.realtime_ports import (
    BreakerStatesProvider,
    ChatService,
    InteractionSink,
    TaskCountsProvider,
)
from services.system_status import SystemSnapshot
from services.tasks.service import TaskService
from services.tasks.worker import TaskWorker
from services.throttle import RateLimiter

CONFIG = web.AppKey("config", Config)
DB = web.AppKey("db", Database)
REDIS = web.AppKey("redis", aioredis.Redis)
CPU_POOL = web.AppKey("cpu_pool", ThreadPoolExecutor)

# Set by the auth middleware on authenticated requests.
AUTH_USER = web.RequestKey("auth_user", AuthUser)
REQUEST_ID = web.RequestKey("request_id", str)
AUTHENTICATOR = web.AppKey("authenticator", Authenticator)

# Accounts and passwords (server/ctx_accounts.py).
ACCOUNTS = web.AppKey("accounts", AccountService)
PASSWORDS = web.AppKey("passwords", PasswordService)
RATE_LIMITER = web.AppKey("rate_limiter", RateLimiter)
METRICS = web.AppKey("metrics", Metrics)

# Real-time layer (server/ctx_realtime.py): event bus and hub, streams, system status.
EVENT_BUS = web.AppKey("event_bus", EventBus)
EVENT_HUB = web.AppKey("event_hub", EventHub)
EVENT_STATS = web.AppKey("event_stats", EventStats)
CHANNEL_ACCESS = web.AppKey("channel_access", ChannelAccess)
SSE_STREAMS = web.AppKey[ConnectionRegistry[EventSourceResponse]]("sse_streams")
WS_CONNECTIONS = web.AppKey[ConnectionRegistry[Closable]]("ws_connections")
LOOP_MONITOR = web.AppKey("loop_monitor", LoopLagMonitor)
REQUEST_RATE = web.AppKey("request_rate", RequestRate)
SHEDDER = web.AppKey("shedder", LoadShedder)
SYSTEM_SNAPSHOT = web.AppKey("system_snapshot", SystemSnapshot)
METRICS_HISTORY = web.AppKey("metrics_history", MetricsHistory)
# Optional, registered by the lead when available (absent: zeros / "unavailable").
BREAKER_STATES = web.AppKey("breaker_states", BreakerStatesProvider)
TASK_COUNTS = web.AppKey("task_counts", TaskCountsProvider)
INTERACTION_SINK = web.AppKey("interaction_sink", InteractionSink)
CHAT_SERVICE = web.AppKey("chat_service", ChatService)

# Career recommendations and the AI gateway (server/ctx_career.py).
AI_GATEWAY = web.AppKey("ai_gateway", AIGateway)
CAREER = web.AppKey("career", CareerService)

# Learning activity (server/ctx_activity.py): interactions, adaptive engine, onboarding.
ANALYSIS_QUEUE = web.AppKey("analysis_queue", AnalysisQueue)
ADAPTIVE_ENGINE = web.AppKey("adaptive_engine", AdaptiveEngine)
INTERACTIONS = web.AppKey("interactions", InteractionService)
ONBOARDING = web.AppKey("onboarding", OnboardingService)
EXPORT = web.AppKey("export", ExportService)

# Long-running tasks (server/ctx_tasks.py); TASK_WORKER only where a worker runs.
TASKS = web.AppKey("tasks", TaskService)
TASK_WORKER = web.AppKey("task_worker", TaskWorker)
# Final transitions by status since start (this process), for /metrics.
TASK_OUTCOMES = web.AppKey[dict[str, int]]("task_outcomes")

# Operations (server/ctx_ops.py).
BREAKERS = web.AppKey("breakers", BreakerRegistry)
