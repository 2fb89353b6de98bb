"""``python -m server create-admin EMAIL``: create an administrator or promote a user.

The password is read from standard input (one line; prompted without echo on a terminal),
checked against the password policy and stored only as a hash. For an existing account the
role becomes ``admin`` and the password given becomes its password.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import TextIO

from marshmallow import ValidationError

from db.migrate import apply_migrations
from db.pool import Database, PoolSettings
from db.queries import accounts as q
from handlers.config import Config
from handlers.schemas.accounts import RegisterBodySchema
from server.ctx_accounts import pepper_for
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


async def _create(config: Config, email: str, display_name: str, password: str) -> bool:
    db = await Database.connect(
        PoolSettings(
            dsn=config.database.url,
            minsize=1,
            maxsize=2,
            statement_timeout_ms=config.database.statement_timeout_ms,
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
        row = await db.fetch_one(
            q.UPSERT_ADMIN,
            {
                "email": email,
                "password_hash": await hasher.hash(password),
                "display_name": display_name,
            },
        )
        return bool(row and row["created"])
    finally:
        executor.shutdown(wait=True)
        await db.close()


def create_admin(config: Config, email: str, display_name: str, stdin: TextIO) -> int:
    """Create (or promote) the administrator *email*; 0 on success, else 1 with a message."""
    try:
        email = email.strip()
        try:
            RegisterBodySchema().load({"email": email, "password": "x"})
        except ValidationError:
            raise AdminError(f"not a valid e-mail address: {email!r}") from None
        password = read_password(stdin)
        if not password:
            raise AdminError("no password given on standard input")
        reasons = check_password_policy(password, email=email, display_name=display_name)
        if reasons:
            raise AdminError("password refused: " + " ".join(reasons))
        created = asyncio.run(_create(config, email, display_name, password))
    except AdminError as exc:
        print(f"create-admin: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # an unreachable database and the like: one line, no trace
        log.debug("create-admin failed", exc_info=True)
        print(f"create-admin: failed ({exc.__class__.__name__}: {exc})", file=sys.stderr)
        return 1
    print(f"create-admin: {'created' if created else 'promoted'} administrator {email}")
    return 0
