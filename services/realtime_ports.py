"""Optional collaborators the real-time layer calls when the lead registers them.

Each is stored under an AppKey in handlers/keys.py; when absent the real-time layer
degrades (zeros, empty maps, an ``unavailable`` error on the WebSocket).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol

from services.auth_user import AuthUser


class BreakerStatesProvider(Protocol):
    """``{name: state}`` of every circuit breaker."""

    async def __call__(self) -> Mapping[str, str]: ...


class TaskCountsProvider(Protocol):
    """``{"queued": n, "running": n}``."""

    async def __call__(self) -> Mapping[str, int]: ...


class InteractionSink(Protocol):
    """Records a learning interaction sent over the WebSocket; returns it with its ``id``."""

    async def __call__(self, user: AuthUser, body: dict[str, Any]) -> dict[str, Any]: ...


class ChatService(Protocol):
    """Career-coach chat: yields ``(delta, source, reset)`` as the AI produces tokens."""

    def stream(self, user: AuthUser, message: str) -> AsyncIterator[tuple[str, str, bool]]: ...
