"""Accounts and auth sessions: register, login, logout, the current user, token lookup.

Tokens are 256-bit random strings (``secrets.token_urlsafe(32)``); only their SHA-256 is
stored (``auth_sessions.token_hash``). A session expires after ``token_idle_ttl_s`` without
use and at the latest ``token_absolute_ttl_s`` after login. Lookups are cached in Redis for a
few seconds under the token's hash; revocation deletes that entry, so the next request in any
process goes to PostgreSQL and is refused. Every revocation is announced on the pub/sub
channel :data:`REVOKED_CHANNEL` as ``{"user_id", "session_id"}`` so live connections close,
and every change of a user on :data:`USER_CHANGED_CHANNEL` as ``{"user_id"}``.

In front of Redis sits a per-process :class:`LocalSessionCache`, used only while the
:class:`InvalidationListener` that applies those two channels to it is fresh (see
services/invalidation_listener.py for why a revocation still wins the race with the next
request).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import hashlib
import json
import logging
import secrets
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Executor
from typing import Any

import orjson
import redis.asyncio as aioredis
from redis.exceptions import RedisError

from db.pool import Database, UniqueViolation
from db.queries import accounts as q
from server.config import AuthConfig
from services.auth_user import AuthUser
from services.errors import Conflict, NotFound, Unauthorized, ValidationFailed
from services.hashing import PasswordHasher
from services.invalidation_listener import InvalidationListener
from services.password_policy import check_password_policy
from services.session_cache import LocalSessionCache
from services.throttle import LoginThrottle

log = logging.getLogger(__name__)

REVOKED_CHANNEL = "fluentpro:revoked"
USER_CHANGED_CHANNEL = "fluentpro:user-changed"
CACHE_PREFIX = "fluentpro:auth:session:"
CACHE_TTL_S = 30
CACHE_PAUSE_AFTER_FAILURE_S = 2.0
MAX_TOKEN_CHARS = 256
BAD_CREDENTIALS = "The e-mail address or the password is wrong."

PolicyCheck = Callable[..., list[str]]


def hash_token(token: str) -> bytes:
    """The SHA-256 of a token, the only form in which tokens are stored."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def public_user(row: Mapping[str, Any]) -> dict[str, Any]:
    """The user as the API shows it (never the password hash)."""
    return {
        "id": str(row["id"]),
        "email": row["email"],
        "display_name": row["display_name"],
        "role": row["role"],
        "profile": row.get("profile") or {},
        "created_at": row["created_at"],
    }


class AccountService:
    """Users, credentials and sessions; also the app's Authenticator."""

    def __init__(
        self,
        db: Database,
        redis: aioredis.Redis,
        hasher: PasswordHasher,
        *,
        auth: AuthConfig,
        throttle: LoginThrottle,
        executor: Executor,
        policy: PolicyCheck = check_password_policy,
    ) -> None:
        self._db = db
        self._redis = redis
        self._hasher = hasher
        self._auth = auth
        self._throttle = throttle
        self._executor = executor
        self._policy = policy
        self._cache_warned = False
        self._cache_skip_until = 0.0
        self._pending_forget: set[bytes] = set()
        self._pending_announcements: list[tuple[str, bytes]] = []
        self._flush_lock = asyncio.Lock()
        # Where authentications were answered from: "memory", "redis" or "database".
        self.lookups: dict[str, int] = {"memory": 0, "redis": 0, "database": 0}
        self._local: LocalSessionCache | None = None
        self._listener: InvalidationListener | None = None

    # -- the in-process cache ----------------------------------------------------------------

    def listen_for_invalidations(self, redis_url: str) -> InvalidationListener:
        """Enable the in-process session cache, guarded by a listener on *redis_url*."""
        self._local = LocalSessionCache()
        self._listener = InvalidationListener(
            redis_url,
            [REVOKED_CHANNEL, USER_CHANGED_CHANNEL],
            self._apply_invalidation,
            on_reset=self._local.clear,
        )
        self._listener.start()
        return self._listener

    def _apply_invalidation(self, channel: bytes, data: bytes) -> None:
        if self._local is None:
            return
        try:
            body = orjson.loads(data)
            if channel == REVOKED_CHANNEL.encode():
                self._local.drop_session(str(body["session_id"]))
            elif channel == USER_CHANGED_CHANNEL.encode():
                self._local.drop_user(str(body["user_id"]))
        except (ValueError, TypeError, KeyError):
            log.warning("malformed invalidation on %r; emptying the session cache", channel)
            self._local.clear()

    @property
    def local_cache_active(self) -> bool:
        """True while authentications may be answered from memory."""
        return self._local_trusted() is not None

    def _local_trusted(self) -> LocalSessionCache | None:
        if self._local is None or self._listener is None or not self._listener.fresh():
            return None
        return self._local

    # -- registration and login --------------------------------------------------------------

    async def check_policy(
        self, password: str, *, email: str | None, display_name: str | None
    ) -> list[str]:
        """The reasons the policy refuses *password* (empty when acceptable); runs in the pool."""
        loop = asyncio.get_running_loop()
        call = functools.partial(self._policy, password, email=email, display_name=display_name)
        return await loop.run_in_executor(self._executor, call)

    async def register(
        self, email: str, password: str, display_name: str = "", *, user_agent: str = ""
    ) -> dict[str, Any]:
        """Create an account and a session: ``{user, token, expires_at}``.

        Raises ValidationFailed (reasons under ``errors.password``) for a refused password and
        Conflict when the e-mail address (compared case-insensitively) is taken.
        """
        email = email.strip()
        # Inside the hashing admission limit like a login: a burst of sign-ups queues here
        # instead of flooding the CPU pool. The hash is computed before the address is looked
        # up, so a taken address (409) costs exactly as long as a new account: the answer's
        # timing does not tell whether the address is registered.
        async with self._hasher.admission():
            reasons = await self.check_policy(password, email=email, display_name=display_name)
            if reasons:
                raise ValidationFailed(
                    "The password does not meet the policy.", errors={"password": reasons}
                )
            password_hash = await self._hasher.hash(password)
        if await self._db.fetch_one(q.EMAIL_TAKEN, {"email": email}):
            raise Conflict("An account with this e-mail address already exists.")
        try:
            row = await self._db.fetch_one(
                q.INSERT_USER,
                {"email": email, "password_hash": password_hash, "display_name": display_name},
            )
        except UniqueViolation:
            raise Conflict("An account with this e-mail address already exists.") from None
        if row is None:  # pragma: no cover - INSERT … RETURNING always returns the row
            raise RuntimeError("user insert returned nothing")
        log.info("account registered", extra={"user_id": str(row["id"])})
        return await self._start_session(row, user_agent)

    async def login(
        self, email: str, password: str, *, address: str, user_agent: str = ""
    ) -> dict[str, Any]:
        """Check the credentials and start a session: ``{user, token, expires_at}``.

        An unknown e-mail and a wrong password give the same Unauthorized and take the same
        time (a dummy bcrypt verification). RateLimited while the account or address is held.
        """
        email = email.strip()
        await self._throttle.check(email, address)  # a held account is refused at once
        # Past this point at most a few logins per core run at a time: the rest would only
        # queue for the hashing pool, after running their Redis/DB prelude on the loop in
        # one burst (measured: 32 logins arriving together held the loop 13-17 ms per wave).
        async with self._hasher.admission():
            async with self._throttle.attempt(email, address):  # one check at a time per account
                await self._throttle.check(email, address)
                row = await self._db.fetch_one(q.USER_BY_EMAIL, {"email": email})
                if row is None:
                    await self._hasher.verify_dummy(password)
                    ok = False
                else:
                    ok = await self._hasher.verify(password, row["password_hash"])
                if not ok or row is None:
                    await self._throttle.failed(email, address)
                    raise Unauthorized(BAD_CREDENTIALS)
                await self._throttle.succeeded(email, address)
            if self._hasher.needs_rehash(row["password_hash"]):
                new_hash = await self._hasher.hash(password)
                await self._db.execute(
                    q.UPDATE_PASSWORD_HASH,
                    {"id": row["id"], "new_hash": new_hash, "old_hash": row["password_hash"]},
                )
                log.info("password hash upgraded", extra={"user_id": str(row["id"])})
        return await self._start_session(row, user_agent)

    async def _start_session(self, row: Mapping[str, Any], user_agent: str) -> dict[str, Any]:
        token = secrets.token_urlsafe(32)
        session = await self._db.fetch_one(
            q.INSERT_SESSION,
            {
                "user_id": row["id"],
                "token_hash": hash_token(token),
                "absolute_s": self._auth.token_absolute_ttl_s,
                "idle_s": self._auth.token_idle_ttl_s,
                "user_agent": user_agent[:256],
            },
        )
        if session is None:  # pragma: no cover
            raise RuntimeError("session insert returned nothing")
        return {"user": public_user(row), "token": token, "expires_at": session["expires_at"]}

    # -- sessions ----------------------------------------------------------------------------

    def remembered(self, token: str, *, via_cookie: bool = False) -> AuthUser | None:
        """The user behind *token* from this process's session cache, when it is trusted and
        holds the token; None means "ask :meth:`authenticate`", not "refused"."""
        local = self._local_trusted()
        if local is None or not token or len(token) > MAX_TOKEN_CHARS:
            return None
        user = local.get(hash_token(token), via_cookie=via_cookie)
        if user is not None:
            self.lookups["memory"] += 1
        return user

    async def authenticate(self, token: str, *, via_cookie: bool = False) -> AuthUser | None:
        """The user behind a live token, or None (unknown, expired, revoked or malformed)."""
        if not token or len(token) > MAX_TOKEN_CHARS:
            return None
        digest = hash_token(token)
        local = self._local_trusted()
        generation = 0
        if local is not None:
            user = local.get(digest, via_cookie=via_cookie)
            if user is not None:
                self.lookups["memory"] += 1
                return user
            generation = local.generation
        cached = await self._cache_get(digest)
        if cached is not None:
            self.lookups["redis"] += 1
        else:
            self.lookups["database"] += 1
            row = await self._db.fetch_one(
                q.TOUCH_SESSION, {"token_hash": digest, "idle_s": self._auth.token_idle_ttl_s}
            )
            if row is None:
                return None
            expires: dt.datetime = row["expires_at"]
            cached = {
                "session_id": str(row["session_id"]),
                "user_id": str(row["user_id"]),
                "email": row["email"],
                "display_name": row["display_name"],
                "role": row["role"],
                "exp": expires.timestamp(),
                # The public record rides along so GET /me needs no second round trip;
                # every change to the user forgets all of its cached sessions.
                "record": {
                    "id": str(row["user_id"]),
                    "email": row["email"],
                    "display_name": row["display_name"],
                    "role": row["role"],
                    "profile": row["profile"] or {},
                    "created_at": row["created_at"].isoformat(),
                },
            }
            await self._cache_put(digest, cached)
        if cached["exp"] <= time.time():
            return None
        user = AuthUser(
            id=cached["user_id"],
            email=cached["email"],
            display_name=cached["display_name"],
            role=cached["role"],
            session_id=cached["session_id"],
            via_cookie=via_cookie,
            record=cached.get("record"),
            expires_at=cached["exp"],
        )
        if local is not None:
            local.put(digest, user, cached["exp"], generation)
        return user

    async def logout(self, user: AuthUser) -> None:
        """Revoke the session behind the request, everywhere at once."""
        await self.revoke_session(user.session_id, user.id)

    async def revoke_session(self, session_id: str, user_id: str) -> None:
        """Revoke one session: the database row, its cache entries, then a pub/sub notice."""
        if self._local is not None:
            self._local.drop_session(session_id)
        row = await self._db.fetch_one(q.REVOKE_SESSION, {"id": session_id})
        if row is not None:
            await self._cache_forget(bytes(row["token_hash"]))
        if self._local is not None:  # again: a lookup may have slipped in meanwhile
            self._local.drop_session(session_id)
        await self._announce(
            REVOKED_CHANNEL, orjson.dumps({"user_id": user_id, "session_id": session_id})
        )

    async def sessions_revoked(self, user_id: str, rows: list[dict[str, Any]]) -> None:
        """Finish revocations already written to the database (rows with ``id`` and
        ``token_hash``): forget the cached lookups, then announce each one, which closes the
        session's SSE streams and WebSockets in every process."""
        if self._local is not None:
            self._local.drop_user(user_id)
        for row in rows:
            await self._cache_forget(bytes(row["token_hash"]))
        if self._local is not None:  # again: a lookup may have slipped in meanwhile
            self._local.drop_user(user_id)
        for row in rows:
            await self._announce(
                REVOKED_CHANNEL, orjson.dumps({"user_id": user_id, "session_id": str(row["id"])})
            )

    async def _announce(self, channel: str, message: bytes) -> None:
        """Publish an invalidation, after any pending cache deletion (else a process could
        reload the stale entry from Redis); one that fails is replayed with them."""
        self._pending_announcements.append((channel, message))
        await self.flush_pending_forgets()

    async def _forget_user(self, user_id: str) -> None:
        """Drop the cached lookups of every live session of a user (after role/name changes)."""
        if self._local is not None:
            self._local.drop_user(user_id)
        rows = await self._db.fetch_all(q.LIVE_TOKEN_HASHES, {"user_id": user_id})
        for row in rows:
            await self._cache_forget(bytes(row["token_hash"]))
        await self._announce(USER_CHANGED_CHANNEL, orjson.dumps({"user_id": user_id}))

    async def _cache_get(self, digest: bytes) -> dict[str, Any] | None:
        if not await self._cache_usable() or digest in self._pending_forget:
            return None
        try:
            raw = await self._redis.get(CACHE_PREFIX + digest.hex())
        except RedisError as exc:
            self._cache_down(exc)
            return None
        if raw is None:
            return None
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return None
        return value if isinstance(value, dict) else None

    async def _cache_put(self, digest: bytes, value: dict[str, Any]) -> None:
        ttl = min(CACHE_TTL_S, int(value["exp"] - time.time()))
        if ttl <= 0 or time.monotonic() < self._cache_skip_until:
            return
        try:
            await self._redis.set(CACHE_PREFIX + digest.hex(), orjson.dumps(value), ex=ttl)
        except RedisError as exc:
            self._cache_down(exc)

    async def _cache_forget(self, digest: bytes) -> None:
        """Delete a cached session. If Redis cannot be reached, remember the deletion and
        replay it as soon as Redis answers again (flush_pending_forgets), so a session
        revoked during an outage does not come back from the cache afterwards."""
        self._pending_forget.add(digest)
        await self.flush_pending_forgets()

    async def flush_pending_forgets(self) -> bool:
        """Replay the cache deletions, then the announcements, that failed; True when none
        is left. One flush at a time: announcements must follow the deletions they cover."""
        if not self._pending_forget and not self._pending_announcements:
            return True
        async with self._flush_lock:
            return await self._flush_pending()

    async def _flush_pending(self) -> bool:
        if time.monotonic() < self._cache_skip_until:
            return not self._pending_forget and not self._pending_announcements
        if self._pending_forget:
            digests = set(self._pending_forget)
            try:
                await self._redis.delete(*(CACHE_PREFIX + d.hex() for d in digests))
            except RedisError as exc:
                self._cache_down(exc)
                log.warning(
                    "could not drop %s cached session(s) (%s); retrying when Redis answers",
                    len(digests),
                    exc.__class__.__name__,
                )
                return False
            self._pending_forget -= digests  # keep what was added meanwhile
        while self._pending_announcements:
            channel, message = self._pending_announcements[0]
            try:
                await self._redis.publish(channel, message)
            except RedisError as exc:
                self._cache_down(exc)
                log.warning("could not announce on %s (%s)", channel, exc.__class__.__name__)
                return False
            self._pending_announcements.pop(0)
        return not self._pending_forget

    async def _cache_usable(self) -> bool:
        """False during the short pause after a Redis failure, or while deletions that
        failed are still pending (the cache might hold a revoked session then)."""
        if time.monotonic() < self._cache_skip_until:
            return False
        return await self.flush_pending_forgets()

    def _cache_down(self, exc: BaseException) -> None:
        # A slow or absent Redis must not cost every request its timeout: skip it briefly.
        self._cache_skip_until = time.monotonic() + CACHE_PAUSE_AFTER_FAILURE_S
        if not self._cache_warned:
            self._cache_warned = True
            log.warning("session cache unavailable (%s); using PostgreSQL", exc.__class__.__name__)

    # -- the current user --------------------------------------------------------------------

    async def get_user(self, user_id: str) -> dict[str, Any]:
        """The user as the API shows it; NotFound if the account is gone."""
        row = await self._db.fetch_one(q.USER_BY_ID, {"id": user_id})
        if row is None:
            raise NotFound("No such user.")
        return public_user(row)

    async def update_me(self, user_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """Apply a PATCH: ``display_name`` replaces, ``profile`` keys merge into the profile."""
        row = await self._db.fetch_one(
            q.UPDATE_ME,
            {
                "id": user_id,
                "display_name": changes.get("display_name"),
                "profile": json.dumps(changes.get("profile") or {}),
            },
        )
        if row is None:
            raise NotFound("No such user.")
        await self._forget_user(user_id)
        return public_user(row)

    async def set_role(self, user_id: str, role: str) -> dict[str, Any]:
        """Change a user's role; live sessions see it on their next request, and their open
        SSE streams and WebSockets are closed (a demoted admin must not keep ``system``);
        clients reconnect with the new role."""
        row = await self._db.fetch_one(q.SET_ROLE, {"id": user_id, "role": role})
        if row is None:
            raise NotFound("No such user.")
        await self._forget_user(user_id)
        for session in await self._db.fetch_all(q.LIVE_SESSION_IDS, {"user_id": user_id}):
            notice = {"user_id": user_id, "session_id": str(session["id"]), "reason": "role"}
            await self._announce(REVOKED_CHANNEL, orjson.dumps(notice))
        return public_user(row)
