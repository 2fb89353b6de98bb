"""Fixtures of the fault scenarios: fault proxies in front of Redis and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.faults.proxy import FaultProxy, fault_proxy


@pytest.fixture
async def redis_proxy(redis_url: str) -> AsyncIterator[FaultProxy]:
    """A proxy in front of the suite's Redis; use ``via_proxy(redis_url, redis_proxy)``."""
    async with fault_proxy(redis_url) as proxy:
        yield proxy


@pytest.fixture
async def pg_proxy(database_url: str) -> AsyncIterator[FaultProxy]:
    """A proxy in front of the suite's PostgreSQL."""
    async with fault_proxy(database_url) as proxy:
        yield proxy
