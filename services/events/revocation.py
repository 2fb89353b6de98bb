"""Closers of revoked sessions: connections register one; a revocation (from any process,
over the ``fluentpro:revoked`` broadcast) runs them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import Any

import orjson

from services.events.stats import EventStats

log = logging.getLogger(__name__)

REVOKED_CHANNEL = "fluentpro:revoked"
Closer = Callable[[], None]


class Revocations:
    """Session id → the closers of its open connections."""

    def __init__(self, stats: EventStats) -> None:
        self._stats = stats
        self._closers: dict[str, set[Closer]] = {}

    def on_revoked(self, session_id: str, closer: Closer) -> Callable[[], None]:
        """Call ``closer`` when ``session_id`` is revoked (any process). Returns an undo."""
        self._closers.setdefault(session_id, set()).add(closer)
        # A partial, not a closure: one small object per connection (thousands are open).
        return partial(self._off, session_id, closer)

    def _off(self, session_id: str, closer: Closer) -> None:
        closers = self._closers.get(session_id)
        if closers is not None:
            closers.discard(closer)
            if not closers:
                del self._closers[session_id]

    def revoke_local(self, session_id: str) -> int:
        """Run the closers registered for a session; returns how many ran."""
        closers = list(self._closers.pop(session_id, ()))
        for closer in closers:
            try:
                closer()
            except Exception:
                log.exception("closer for a revoked session failed")
        if closers:
            self._stats.revocations += 1
            self._stats.notify()
        return len(closers)

    def handle_message(self, data: Any) -> None:
        """A message of the broadcast: ``{"session_id": ...}``."""
        try:
            body = orjson.loads(data)
            session_id = str(body["session_id"])
        except (ValueError, TypeError, KeyError):
            log.warning("ignored a malformed revocation message")
            return
        self.revoke_local(session_id)
