"""Fixtures of the AI gateway and breaker tests: ``fake_ai`` and ``redis13`` (DB 13 only).

tests/conftest.py registers them as a plugin for the whole suite.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from services.breaker.shared import make_breaker_redis
from tests.ai_helpers import REDIS_URL
from tests.fake_ai import FakeAI, run_fake_ai


@pytest.fixture
async def fake_ai() -> AsyncIterator[FakeAI]:
    """A local OpenAI-compatible server (see tests/fake_ai.py)."""
    async with run_fake_ai() as fake:
        yield fake


@pytest.fixture
async def redis13() -> AsyncIterator[Redis]:
    """Redis DB 13, flushed before and after the test."""
    client = make_breaker_redis(REDIS_URL, timeout_s=2.0)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.flushdb()
        await client.aclose()
