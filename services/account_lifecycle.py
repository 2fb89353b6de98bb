"""The account lifecycle a user expects: change the password, see and revoke sessions,
delete the account (API.md "Accounts").

Every operation that takes a password is throttled exactly like login: the same per-account
(with the source address) and per-address failure counters, one check at a time per account,
inside the hashing admission limit. A stolen session token therefore cannot be used to guess
the account's password faster than the login form allows.

Revocations go through :meth:`AccountService.sessions_revoked`, so the database row, the
Redis and in-process session caches and the pub/sub notice that closes open SSE streams and
WebSockets are all handled in one place.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from db.pool import Database
from db.queries import account_lifecycle as q
from services.accounts import AccountService
from services.auth_user import AuthUser
from services.errors import NotFound, Unauthorized, ValidationFailed
from services.hashing import PasswordHasher
from services.throttle import LoginThrottle

log = logging.getLogger(__name__)

WRONG_PASSWORD = "The password is wrong."

# Redis keys holding a user's data, given the user id and the ids of their tasks (the
# event streams of their channels); supplied by the composition root so this module does
# not need to know how the event bus names its keys.
UserKeys = Callable[[str, Iterable[str]], list[str]]


class AccountLifecycle:
    """Password change, session management and account deletion for the signed-in user."""

    def __init__(
        self,
        db: Database,
        redis: aioredis.Redis,
        hasher: PasswordHasher,
        *,
        accounts: AccountService,
        throttle: LoginThrottle,
        idle_ttl_s: int,
        user_keys: UserKeys,
    ) -> None:
        self._db = db
        self._redis = redis
        self._hasher = hasher
        self._accounts = accounts
        self._throttle = throttle
        self._idle_ttl_s = idle_ttl_s
        self._user_keys = user_keys

    async def _check_password(self, user: AuthUser, password: str, *, address: str) -> str:
        """Verify the user's password under the login throttle; returns the e-mail address.

        Unauthorized for a wrong password (counted as a failed login), RateLimited while the
        account or address is held, NotFound if the account is gone."""
        row = await self._db.fetch_one(q.PASSWORD_OF_USER, {"id": user.id})
        if row is None:
            raise NotFound("No such user.")
        email = str(row["email"])
        await self._throttle.check(email, address)
        async with self._hasher.admission():
            async with self._throttle.attempt(email, address):
                await self._throttle.check(email, address)
                ok = await self._hasher.verify(password, row["password_hash"])
                if not ok:
                    await self._throttle.failed(email, address)
                    raise Unauthorized(WRONG_PASSWORD)
                await self._throttle.succeeded(email, address)
        return email

    async def change_password(
        self, user: AuthUser, current: str, new: str, *, address: str
    ) -> None:
        """Set a new password (the current one is required) and revoke every other session.

        Both passwords arrive NFKC-normalised (the API boundary does it once), so the policy
        judges exactly the string that is hashed."""
        email = await self._check_password(user, current, address=address)
        reasons = await self._accounts.check_policy(
            new, email=email, display_name=user.display_name
        )
        if reasons:
            raise ValidationFailed(
                "The new password does not meet the policy.", errors={"new_password": reasons}
            )
        async with self._hasher.admission():
            password_hash = await self._hasher.hash(new)
        await self._db.execute(q.SET_PASSWORD, {"id": user.id, "password_hash": password_hash})
        await self.revoke_others(user)
        log.info("password changed", extra={"user_id": user.id})

    async def list_sessions(self, user: AuthUser) -> list[dict[str, Any]]:
        """The user's live sessions, most recently used first, the current one marked."""
        rows = await self._db.fetch_all(
            q.LIVE_SESSIONS, {"user_id": user.id, "idle_s": self._idle_ttl_s}
        )
        return [
            {
                "id": str(row["id"]),
                "created_at": row["created_at"],
                "last_seen_at": row["last_seen_at"],
                "user_agent": row["user_agent"],
                "current": str(row["id"]) == user.session_id,
            }
            for row in rows
        ]

    async def revoke(self, user: AuthUser, session_id: str) -> None:
        """Revoke one of the user's sessions everywhere; NotFound when it is not theirs."""
        row = await self._db.fetch_one(q.REVOKE_OWN_SESSION, {"id": session_id, "user_id": user.id})
        if row is None:
            raise NotFound("No such session.")
        await self._accounts.sessions_revoked(user.id, [row])

    async def revoke_others(self, user: AuthUser) -> int:
        """Revoke every session of the user but the current one; returns how many."""
        rows = await self._db.fetch_all(
            q.REVOKE_OTHER_SESSIONS, {"user_id": user.id, "keep": user.session_id}
        )
        await self._accounts.sessions_revoked(user.id, rows)
        return len(rows)

    async def delete_account(self, user: AuthUser, password: str, *, address: str) -> None:
        """Erase the account and everything of it (password required).

        In one transaction: lock the sessions, note the task ids, delete the user (every
        table of user data cascades). Then the sessions are announced revoked (sockets
        close, caches forget) and the Redis keys of the user's event streams are deleted.
        """
        await self._check_password(user, password, address=address)
        async with self._db.transaction() as cur:
            await cur.execute(q.ALL_SESSIONS_FOR_UPDATE, {"user_id": user.id})
            sessions = [dict(r) for r in await cur.fetchall()]
            await cur.execute(q.TASK_IDS_OF_USER, {"user_id": user.id})
            task_ids = [str(r["id"]) for r in await cur.fetchall()]
            await cur.execute(q.DELETE_USER, {"id": user.id})
            if await cur.fetchone() is None:
                raise NotFound("No such user.")
        await self._accounts.sessions_revoked(user.id, sessions)
        await self._delete_keys(self._user_keys(user.id, task_ids))
        log.info("account deleted", extra={"user_id": user.id, "tasks": len(task_ids)})

    async def _delete_keys(self, keys: list[str]) -> None:
        # Separate DELs: keys of different channels may live on different Cluster shards.
        for key in keys:
            try:
                await self._redis.delete(key)
            except RedisError as exc:  # the streams expire on their own (events.stream_idle_ttl_s)
                log.warning("could not delete a stream of a deleted account (%s)", exc)
                return


__all__ = ["AccountLifecycle", "UserKeys"]
