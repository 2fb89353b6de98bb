"""Registries of open streaming connections (SSE responses, WebSocket connections).

Kept per process under an AppKey: a WeakSet of live connections for shutdown, and a count
per user for the per-user caps.
"""

from __future__ import annotations

import weakref
from collections import Counter
from typing import Generic, Protocol, TypeVar

T = TypeVar("T")


class ConnectionRegistry(Generic[T]):
    """Live connections (weakly held) and how many each user has open."""

    def __init__(self) -> None:
        self.live: weakref.WeakSet[T] = weakref.WeakSet()  # type: ignore[type-var]
        self._per_user: Counter[str] = Counter()

    def try_add(self, user_id: str, conn: T, cap: int) -> bool:
        """Register a connection unless the user already has ``cap`` open."""
        if self._per_user[user_id] >= cap:
            return False
        self._per_user[user_id] += 1
        self.live.add(conn)
        return True

    def discard(self, user_id: str, conn: T) -> None:
        """Forget a connection (call once, in ``finally``)."""
        self.live.discard(conn)
        self._per_user[user_id] -= 1
        if self._per_user[user_id] <= 0:
            del self._per_user[user_id]

    def count(self, user_id: str | None = None) -> int:
        """Open connections of one user, or of everybody."""
        if user_id is None:
            return sum(self._per_user.values())
        return self._per_user.get(user_id, 0)

    def copy(self) -> list[T]:
        """A copy of the live set, safe to iterate while connections come and go."""
        return list(self.live)


class Closable(Protocol):
    """A WebSocket connection as the registry and shutdown see it."""

    def close_soon(self, code: int, reason: str) -> None:
        """Close with ``code`` as soon as the writer can (never blocks)."""
