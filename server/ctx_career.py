"""The career cleanup context: catalog (from the DB), local engine, AI gateway, service."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis
from aiohttp import web
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from db.catalog_seed import fetch_catalog_rows
from handlers.config import Config
from handlers.keys import AI_GATEWAY, CAREER, CONFIG, CPU_POOL, DB, REDIS
from server.resources import warm_redis
from services.ai.cache import AICache
from services.ai.gateway import AIGateway
from services.ai.local import LocalEngine
from services.ai.provider import OpenAIProvider, make_openai_client
from services.ai.quota import AIQuota
from services.breaker.shared import RedisCircuitBreaker
from services.career.catalog import Catalog
from services.career.engine import LocalCareerEngine
from services.career.local_adapter import CareerLocalEngine
from services.career.service import CareerService

log = logging.getLogger(__name__)

BREAKER_NAME = "ai"
BREAKER_TIMEOUT_S = 0.2
# Breaker checks are one short script each: a few connections serve any load, and a
# bounded, pre-opened pool never grows under a burst (nor opens sockets without limit).
BREAKER_POOL_SIZE = 8


def _build_engine(rows: dict[str, list[dict[str, Any]]]) -> LocalCareerEngine:
    catalog = Catalog.from_dicts(rows["skills"], rows["roles"], rows["courses"])
    return LocalCareerEngine(catalog)


def _breaker_redis(general: aioredis.Redis) -> aioredis.Redis:
    """A client on the same server as ``general`` with short timeouts and no retries."""
    base = general.connection_pool
    kwargs = dict(base.connection_kwargs)
    kwargs.update(
        socket_timeout=BREAKER_TIMEOUT_S,
        socket_connect_timeout=BREAKER_TIMEOUT_S,
        retry=Retry(NoBackoff(), 0),
        health_check_interval=0,
    )
    pool = aioredis.BlockingConnectionPool(
        connection_class=base.connection_class,
        max_connections=BREAKER_POOL_SIZE,
        timeout=BREAKER_TIMEOUT_S,
        **kwargs,
    )
    return aioredis.Redis(connection_pool=pool)


def build_gateway(
    config: Config, redis: aioredis.Redis, breaker_redis: aioredis.Redis, local: LocalEngine
) -> AIGateway:
    """The AI gateway: an OpenAI-compatible provider when ``ai.base_url`` is set."""
    ai = config.ai
    provider = None
    if ai.base_url:
        client = make_openai_client(
            base_url=ai.base_url,
            api_key=ai.api_key or "unset",
            max_retries=ai.max_retries,
            attempt_timeout_s=ai.attempt_timeout_s,
        )
        provider = OpenAIProvider(client, ai.model)
    b = config.breaker
    breaker = RedisCircuitBreaker(
        breaker_redis,
        BREAKER_NAME,
        failure_ratio=b.failure_ratio,
        sampling_window_s=b.sampling_window_s,
        minimum_throughput=b.minimum_throughput,
        consecutive_failures=b.consecutive_failures,
        break_duration_s=b.break_duration_s,
        probe_lease_s=b.probe_lease_s,
    )
    return AIGateway(
        provider=provider,
        local=local,
        breaker=breaker,
        cache=AICache(redis),
        quota=AIQuota(redis, calls=ai.quota_per_minute),
        model_name=ai.model,
        deadline_s=ai.deadline_s,
        first_token_timeout_s=ai.first_token_timeout_s,
        idle_timeout_s=ai.idle_timeout_s,
    )


async def career_ctx(app: web.Application) -> AsyncIterator[None]:
    """Catalog and engine built from the DB rows (in the CPU pool), then the gateway and
    the career service. Needs the CPU pool, the database and Redis."""
    config = app[CONFIG]
    pool = app[CPU_POOL]
    rows = await fetch_catalog_rows(app[DB])
    loop = asyncio.get_running_loop()
    engine = await loop.run_in_executor(pool, _build_engine, rows)
    local = CareerLocalEngine(engine, engine.catalog, engine.extractor, pool)
    breaker_redis = _breaker_redis(app[REDIS])
    await warm_redis(breaker_redis, BREAKER_POOL_SIZE)
    gateway = build_gateway(config, app[REDIS], breaker_redis, local)
    app[AI_GATEWAY] = gateway
    app[CAREER] = career = CareerService(
        db=app[DB],
        gateway=gateway,
        local=local,
        catalog=engine.catalog,
        cache_ttl_s=config.ai.cache_ttl_s,
    )
    log.info(
        "career engine ready: %s roles, %s courses, AI provider %s",
        len(engine.catalog.roles),
        len(engine.catalog.courses),
        "configured" if gateway.provider is not None else "off (local engine)",
    )
    try:
        yield
    finally:
        await career.recommendations.close()  # answers already computed are stored
        if gateway.provider is not None:
            await gateway.provider.aclose()
        await breaker_redis.aclose()
