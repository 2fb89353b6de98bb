"""The learning-activity cleanup context: adaptive engine, analysis workers, onboarding,
interactions, export, and the WebSocket interaction sink.

Registered by create_app after the real-time layer (it publishes through the event bus).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from handlers.common import validate
from handlers.export import EXPORT_GUARD
from handlers.schemas.activity import InteractionBodySchema
from server.keys import (
    ADAPTIVE_ENGINE,
    ANALYSIS_QUEUE,
    CONFIG,
    DB,
    EVENT_BUS,
    EXPORT,
    INTERACTION_SINK,
    INTERACTIONS,
    ONBOARDING,
    REDIS,
)
from services.adaptive import AdaptiveEngine
from services.analysis_queue import AnalysisQueue
from services.auth_user import AuthUser
from services.export import ExportService
from services.export_guard import ExportGuard
from services.interactions import InteractionService
from services.onboarding import OnboardingService
from services.realtime_ports import InteractionSink

log = logging.getLogger(__name__)


def make_interaction_sink(service: InteractionService) -> InteractionSink:
    """The WebSocket ``interaction`` message: the same validation as POST /interactions."""

    async def sink(user: AuthUser, body: dict[str, Any]) -> dict[str, Any]:
        return await service.record(user.id, validate(InteractionBodySchema, body))

    return sink


async def activity_ctx(app: web.Application) -> AsyncIterator[None]:
    """Build the activity services and own the analysis workers (cancelled on exit)."""
    cfg = app[CONFIG].activity
    db, bus = app[DB], app[EVENT_BUS]
    engine = AdaptiveEngine(db, bus, cfg)
    queue = AnalysisQueue(
        engine.analyse,
        maxsize=cfg.analysis_queue_size,
        workers=cfg.analysis_workers,
        timeout_s=cfg.analysis_timeout_s,
    )
    onboarding = OnboardingService(db, bus, queue)
    interactions = InteractionService(
        db, queue, onboarding, payload_max_bytes=cfg.payload_max_bytes
    )
    app[ADAPTIVE_ENGINE] = engine
    app[ANALYSIS_QUEUE] = queue
    app[ONBOARDING] = onboarding
    app[INTERACTIONS] = interactions
    app[EXPORT] = ExportService(db, batch=cfg.export_batch)
    app[EXPORT_GUARD] = ExportGuard(
        app[REDIS], connections=cfg.export_connections, lease_s=cfg.export_lease_s
    )
    app[INTERACTION_SINK] = make_interaction_sink(interactions)
    queue.start()
    try:
        yield
    finally:
        await queue.stop()
