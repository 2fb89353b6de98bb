"""Breakers by name: list their states, isolate or reset one (operators' endpoints)."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from services.breaker.base import TransitionCallback
from services.breaker.local import LocalCircuitBreaker
from services.breaker.shared import RedisCircuitBreaker
from services.errors import NotFound

Breaker = RedisCircuitBreaker | LocalCircuitBreaker


class BreakerRegistry:
    """Holds the process's breakers; ``create`` builds shared ones on one Redis client."""

    def __init__(
        self,
        redis: Redis | None = None,
        *,
        on_transition: TransitionCallback | None = None,
    ) -> None:
        self._redis = redis
        self._on_transition = on_transition
        self._breakers: dict[str, Breaker] = {}

    def add(self, breaker: Breaker) -> Breaker:
        """Register an existing breaker under its name (replacing any of that name)."""
        self._breakers[breaker.name] = breaker
        return breaker

    def create(self, name: str, **options: Any) -> Breaker:
        """Return the breaker called ``name``, creating it (shared if a Redis client was
        given, in-process otherwise) with ``options`` and the registry's on_transition."""
        if name in self._breakers:
            return self._breakers[name]
        options.setdefault("on_transition", self._on_transition)
        if self._redis is not None:
            return self.add(RedisCircuitBreaker(self._redis, name, **options))
        return self.add(LocalCircuitBreaker(name, **options))

    def get(self, name: str) -> Breaker:
        """The breaker called ``name``; ``NotFound`` if there is none."""
        try:
            return self._breakers[name]
        except KeyError:
            raise NotFound(f"No circuit breaker named {name!r}.") from None

    def names(self) -> list[str]:
        """Names of the registered breakers, sorted."""
        return sorted(self._breakers)

    async def states(self) -> list[dict[str, Any]]:
        """``state()`` of every breaker, sorted by name."""
        return [await self._breakers[name].state() for name in self.names()]

    async def isolate(self, name: str) -> dict[str, Any]:
        """Isolate the breaker called ``name``; returns its new state."""
        return await self.get(name).isolate()

    async def reset(self, name: str) -> dict[str, Any]:
        """Reset the breaker called ``name``; returns its new state."""
        return await self.get(name).reset()
