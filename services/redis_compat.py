"""redis-py and procrastinate must honour task cancellation on Python 3.11 (see
services/aio_compat.py for why)."""

from __future__ import annotations

from services.aio_compat import patch, wait_for

__all__ = ["install", "wait_for"]


def install() -> None:
    """Patch redis.asyncio's connection module and procrastinate's wait_for users."""
    patch("redis.asyncio.connection")
    patch("procrastinate.utils")
    patch("procrastinate.contrib.aiopg.aiopg_connector")
