"""The accounts cleanup context: pepper, password hasher, throttles, account service."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

from aiohttp import web

from handlers.me_account import LIFECYCLE
from server import infra
from server.config import Config
from server.keys import (
    ACCOUNTS,
    AUTHENTICATOR,
    CONFIG,
    CPU_POOL,
    DB,
    PASSWORDS,
    RATE_LIMITER,
    REDIS,
)
from services.account_lifecycle import AccountLifecycle
from services.accounts import AccountService
from services.events.access import USER_CHANNELS, user_channel
from services.events.bus import stream_key
from services.hashing import PasswordHasher
from services.passwords import PasswordService
from services.tasks.kinds import task_channel
from services.throttle import LoginThrottle, RateLimiter, ThrottlePolicy

log = logging.getLogger(__name__)

PEPPER_FILE = "pepper"
FORGET_RETRY_INTERVAL_S = 0.5


def read_or_create_pepper(directory: Path) -> bytes:
    """The development pepper in ``<directory>/pepper`` (mode 0600), created once at random.

    Creation is atomic (write a temporary file, then hard-link it into place), so processes
    starting together all end up with the same pepper.
    """
    path = directory / PEPPER_FILE
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        tmp = directory / f".{PEPPER_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_urlsafe(32) + "\n")
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    pepper = path.read_text().strip()
    if not pepper:
        raise RuntimeError(f"{path} is empty; delete it or set FLUENTPRO_PEPPER")
    return pepper.encode()


def pepper_for(config: Config) -> bytes:
    """config.pepper, else the development pepper file under var_dir() (with a warning)."""
    if config.pepper:
        return config.pepper.encode()
    directory = infra.var_dir()
    log.warning(
        "FLUENTPRO_PEPPER is not set; using the development pepper in %s (set it in production)",
        directory / PEPPER_FILE,
    )
    return read_or_create_pepper(directory)


def user_stream_keys(user_id: str, task_ids: Iterable[str]) -> list[str]:
    """The Redis keys of a user's event streams (their channels and their tasks')."""
    keys = [stream_key(user_channel(user_id, name)) for name in USER_CHANNELS]
    return keys + [stream_key(task_channel(task_id)) for task_id in task_ids]


def make_throttle_policy(config: Config) -> ThrottlePolicy:
    auth = config.auth
    return ThrottlePolicy(
        failures_before_throttle=auth.login_failures_before_throttle,
        address_failures_before_throttle=auth.login_address_failures_before_throttle,
        account_failures_before_throttle=auth.login_account_failures_before_throttle,
        known_address_ttl_s=auth.token_absolute_ttl_s,
        base_s=auth.login_throttle_base_s,
        max_s=auth.login_throttle_max_s,
    )


async def accounts_ctx(app: web.Application) -> AsyncIterator[None]:
    """Build the account and password services (needs CPU_POOL, DB and REDIS)."""
    config = app[CONFIG]
    executor = app[CPU_POOL]
    loop = asyncio.get_running_loop()
    pepper = await loop.run_in_executor(None, pepper_for, config)
    hasher = PasswordHasher(pepper, config.auth.bcrypt_cost, executor=executor)
    passwords = await loop.run_in_executor(None, PasswordService, executor)
    redis = app[REDIS]
    throttle = LoginThrottle(redis, make_throttle_policy(config))
    accounts = AccountService(
        app[DB], redis, hasher, auth=config.auth, throttle=throttle, executor=executor
    )
    app[ACCOUNTS] = accounts
    app[LIFECYCLE] = AccountLifecycle(
        app[DB],
        redis,
        hasher,
        accounts=accounts,
        throttle=throttle,
        idle_ttl_s=config.auth.token_idle_ttl_s,
        user_keys=user_stream_keys,
    )
    app[AUTHENTICATOR] = accounts
    app[PASSWORDS] = passwords
    listener = (
        accounts.listen_for_invalidations(config.redis.url)
        if config.auth.local_session_cache
        else None
    )
    app[RATE_LIMITER] = RateLimiter(redis)

    async def replay_failed_forgets() -> None:
        # A process that revoked sessions during a Redis outage deletes their cache
        # entries as soon as Redis is back, even if it serves no further request.
        while True:
            await asyncio.sleep(FORGET_RETRY_INTERVAL_S)
            try:
                await accounts.flush_pending_forgets()
            except Exception:  # never let the retrier die; the next round tries again
                log.exception("replaying session-cache deletions failed")

    retrier = asyncio.create_task(replay_failed_forgets(), name="session-cache-retrier")
    try:
        yield
    finally:
        retrier.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await retrier
        if listener is not None:
            await listener.stop()
