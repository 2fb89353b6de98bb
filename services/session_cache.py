"""The in-process session cache: authenticated users by token hash, for a few seconds.

Authenticating from memory saves every request a Redis round trip. It is only correct while
every revocation and every change of a user reaches this process before the next request
does, so the cache is *trusted* only while :class:`~services.invalidation_listener.
InvalidationListener` is subscribed and has heard from Redis recently; it is emptied
whenever that listener reconnects (it may have missed messages while it was away).

A lookup that started before an invalidation must not put its (possibly stale) answer back
afterwards: :attr:`generation` counts invalidations, and :meth:`put` ignores an answer read
under an older generation.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from services.auth_user import AuthUser

LOCAL_TTL_S = 10.0
MAX_ENTRIES = 20_000


@dataclass(slots=True)
class _Entry:
    by_header: AuthUser
    by_cookie: AuthUser
    expires_at: float  # wall clock: the session's own expiry
    fresh_until: float  # monotonic: when this process must ask Redis/PostgreSQL again


class LocalSessionCache:
    """Token hash → AuthUser, bounded in size and age, invalidated by session and by user."""

    def __init__(self, *, ttl_s: float = LOCAL_TTL_S, max_entries: int = MAX_ENTRIES) -> None:
        self._ttl_s = ttl_s
        self._max_entries = max_entries
        self._entries: dict[bytes, _Entry] = {}
        self._by_session: dict[str, bytes] = {}
        self._by_user: dict[str, set[bytes]] = {}
        self.generation = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, digest: bytes, *, via_cookie: bool) -> AuthUser | None:
        entry = self._entries.get(digest)
        if entry is None:
            return None
        if entry.fresh_until <= time.monotonic() or entry.expires_at <= time.time():
            self._drop(digest)
            return None
        return entry.by_cookie if via_cookie else entry.by_header

    def put(self, digest: bytes, user: AuthUser, expires_at: float, generation: int) -> None:
        """Remember *user* for *digest*, unless an invalidation happened since *generation*."""
        if generation != self.generation:
            return
        if digest in self._entries:
            self._drop(digest)
        elif len(self._entries) >= self._max_entries:
            self._drop(next(iter(self._entries)))  # the oldest entry
        by_header = replace(user, via_cookie=False) if user.via_cookie else user
        by_cookie = replace(by_header, via_cookie=True)
        self._entries[digest] = _Entry(
            by_header, by_cookie, expires_at, time.monotonic() + self._ttl_s
        )
        self._by_session[user.session_id] = digest
        self._by_user.setdefault(user.id, set()).add(digest)

    def drop_session(self, session_id: str) -> None:
        self.generation += 1
        digest = self._by_session.get(session_id)
        if digest is not None:
            self._drop(digest)

    def drop_user(self, user_id: str) -> None:
        self.generation += 1
        for digest in list(self._by_user.get(user_id, ())):
            self._drop(digest)

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()
        self._by_session.clear()
        self._by_user.clear()

    def _drop(self, digest: bytes) -> None:
        entry = self._entries.pop(digest, None)
        if entry is None:
            return
        user = entry.by_header
        self._by_session.pop(user.session_id, None)
        digests = self._by_user.get(user.id)
        if digests is not None:
            digests.discard(digest)
            if not digests:
                del self._by_user[user.id]
