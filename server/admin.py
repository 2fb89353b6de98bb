"""``python -m server create-admin EMAIL [--promote-existing]``: create an administrator.

The password is read from standard input (one line; prompted without echo on a terminal),
NFKC-normalised, checked against the password policy and stored only as a hash.

An existing account is refused unless ``--promote-existing`` is given: without e-mail
verification anyone may have registered that address first (security review 2026-12-07,
finding 2). When promoting, the role becomes ``admin``, the password given becomes its
password, and every session of the account is revoked everywhere — in PostgreSQL, in the
Redis session cache and, through the revocation notice, in every process's memory and on
every open SSE stream and WebSocket — before the command returns.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import sys
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from typing import TextIO, cast

import orjson
from marshmallow import ValidationError
from redis.exceptions import RedisError

from db.migrate import apply_migrations
from db.pool import Database, PoolSettings
from db.queries import admin as admin_q
from handlers.config import Config
from handlers.schemas.accounts import RegisterBodySchema
from server.ctx_accounts import pepper_for
from server.resources import make_redis
from services.accounts import CACHE_PREFIX, REVOKED_CHANNEL, USER_CHANGED_CHANNEL
from services.hashing import PasswordHasher
from services.password_policy import check_password_policy

log = logging.getLogger(__name__)


class AdminError(Exception):
    """A problem to report to the operator in one line."""


def read_password(stdin: TextIO) -> str:
    """One line from *stdin* without its line ending (no echo when it is a terminal)."""
    if stdin.isatty():
        first = getpass.getpass("Password: ", stream=sys.stderr)
        if getpass.getpass("Repeat: ", stream=sys.stderr) != first:
            raise AdminError("the two passwords differ")
        return first
    line = stdin.readline()
    return line.rstrip("\r\n")


class Outcome:
    """What the command did, for its one-line report."""

    def __init__(self, created: bool, revoked: int = 0) -> None:
        self.created = created
        self.revoked = revoked


async def _create(
    config: Config, email: str, display_name: str, password: str, *, promote: bool
) -> Outcome:
    db = await Database.connect(
        PoolSettings(
            dsn=config.database.url,
            minsize=1,
            maxsize=2,
            statement_timeout_ms=config.database.statement_timeout_ms,
            idle_in_transaction_timeout_ms=config.database.idle_in_transaction_timeout_ms,
            timeout_s=config.database.query_timeout_s,
            connect_timeout_s=config.database.connect_timeout_s,
        )
    )
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="admin-bcrypt")
    try:
        await apply_migrations(db)
        loop = asyncio.get_running_loop()
        pepper = await loop.run_in_executor(None, pepper_for, config)
        hasher = PasswordHasher(pepper, config.auth.bcrypt_cost, executor=executor)
        params = {
            "email": email,
            "password_hash": await hasher.hash(password),
            "display_name": display_name,
        }
        row = await db.fetch_one(admin_q.INSERT_ADMIN, params)
        if row is not None:
            return Outcome(created=True)
        if not promote:
            raise AdminError(
                f"an account {email} already exists and was not created by this command "
                "(anyone can register an address); if you are sure it is yours, re-run with "
                "--promote-existing, which also signs it out everywhere"
            )
        async with db.transaction() as cur:
            await cur.execute(admin_q.PROMOTE_EXISTING, params)
            promoted = await cur.fetchone()
            if promoted is None:
                raise AdminError(f"the account {email} vanished; run the command again")
            await cur.execute(admin_q.REVOKE_ALL_SESSIONS, {"user_id": promoted["id"]})
            sessions = [dict(r) for r in await cur.fetchall()]
        await _forget_sessions(config, str(promoted["id"]), sessions)
        return Outcome(created=False, revoked=len(sessions))
    finally:
        executor.shutdown(wait=True)
        await db.close()


async def _forget_sessions(config: Config, user_id: str, sessions: list[dict[str, object]]) -> None:
    """Delete the revoked sessions' cache entries, then announce the revocations (open
    sockets close, each process drops them from memory) and the change of the user."""
    redis = make_redis(config.redis.url, config)
    try:
        for row in sessions:
            await redis.delete(CACHE_PREFIX + bytes(cast(bytes, row["token_hash"])).hex())
        for row in sessions:
            notice = {"user_id": user_id, "session_id": str(row["id"])}
            await redis.publish(REVOKED_CHANNEL, orjson.dumps(notice))
        await redis.publish(USER_CHANGED_CHANNEL, orjson.dumps({"user_id": user_id}))
    except RedisError as exc:
        raise AdminError(
            f"promoted and its sessions revoked in PostgreSQL, but Redis did not answer "
            f"({exc.__class__.__name__}): cached sessions may live up to 30 s more; run the "
            "command again once Redis is up"
        ) from None
    finally:
        await redis.aclose()


def create_admin(
    config: Config, email: str, display_name: str, stdin: TextIO, *, promote: bool = False
) -> int:
    """Create the administrator *email* (or, with *promote*, promote that existing account
    and revoke its sessions); 0 on success, else 1 with a one-line message."""
    try:
        email = email.strip()
        try:
            RegisterBodySchema().load({"email": email, "password": "x"})
        except ValidationError:
            raise AdminError(f"not a valid e-mail address: {email!r}") from None
        password = unicodedata.normalize("NFKC", read_password(stdin))
        if not password:
            raise AdminError("no password given on standard input")
        reasons = check_password_policy(password, email=email, display_name=display_name)
        if reasons:
            raise AdminError("password refused: " + " ".join(reasons))
        outcome = asyncio.run(_create(config, email, display_name, password, promote=promote))
    except AdminError as exc:
        print(f"create-admin: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # an unreachable database and the like: one line, no trace
        log.debug("create-admin failed", exc_info=True)
        print(f"create-admin: failed ({exc.__class__.__name__}: {exc})", file=sys.stderr)
        return 1
    if outcome.created:
        print(f"create-admin: created administrator {email}")
    else:
        print(
            f"create-admin: promoted {email} to administrator; "
            f"{outcome.revoked} session(s) revoked everywhere"
        )
    return 0
