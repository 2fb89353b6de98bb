"""Types shared by the Redis and the in-process circuit breakers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

logger = logging.getLogger(__name__)

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"
ISOLATED = "isolated"

TransitionCallback = Callable[[dict[str, Any]], Awaitable[None]]


class CircuitOpen(Exception):
    """The circuit rejects calls; ``retry_after`` (seconds) says when to try again."""

    def __init__(self, name: str, retry_after: float) -> None:
        super().__init__(f"circuit {name!r} is open; retry after {retry_after:.3f}s")
        self.name = name
        self.retry_after = retry_after


@dataclass(frozen=True, slots=True)
class Permit:
    """Permission for one call; hand it back to ``record_success``/``record_failure``.

    ``gen`` is the breaker generation the permit was issued in (results of an earlier
    period are ignored), ``token`` is set on the single half-open probe, ``shared`` says
    whether the permit came from Redis or from the in-process fallback.
    """

    name: str
    gen: int
    token: str | None = None
    shared: bool = True

    @property
    def probe(self) -> bool:
        """True for the single half-open probe."""
        return self.token is not None


def iso_from_ms(ms: float) -> str:
    """ISO 8601 (UTC) of a Unix timestamp in milliseconds."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds")


async def notify(
    callback: TransitionCallback | None,
    name: str,
    state: str,
    previous: str,
    at_ms: float,
) -> None:
    """Call ``callback`` with one transition event; its errors are logged, never raised."""
    logger.info("circuit %s: %s -> %s", name, previous, state)
    if callback is None:
        return
    event = {
        "name": name,
        "state": state,
        "previous": previous,
        "at": iso_from_ms(at_ms),
    }
    try:
        await callback(event)
    except Exception:
        logger.exception("circuit %s: on_transition callback failed", name)


class GuardMixin:
    """The breakers' common surface: record_success/record_failure over ``_record``, and
    ``async with breaker.guard():`` on top of acquire/record/release."""

    async def acquire(self) -> Permit:  # pragma: no cover - provided by the breaker
        raise NotImplementedError

    async def _record(self, permit: Permit, ok: bool) -> None:  # pragma: no cover
        raise NotImplementedError

    async def record_success(self, permit: Permit) -> None:
        """Report that the call made under ``permit`` succeeded."""
        await self._record(permit, True)

    async def record_failure(self, permit: Permit) -> None:
        """Report that the call made under ``permit`` failed."""
        await self._record(permit, False)

    async def release(self, permit: Permit) -> None:  # pragma: no cover
        raise NotImplementedError

    @asynccontextmanager
    async def guard(self) -> AsyncIterator[Permit]:
        """Acquire a permit (or raise ``CircuitOpen``); an exception in the block is a failure.

        Cancellation (or ``GeneratorExit``) is neither: the permit is released unrecorded.
        """
        permit = await self.acquire()
        try:
            yield permit
        except Exception:
            await self.record_failure(permit)
            raise
        except BaseException:
            await self.release(permit)
            raise
        await self.record_success(permit)
