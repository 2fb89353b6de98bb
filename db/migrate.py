"""Numbered SQL migrations applied under a PostgreSQL advisory lock.

Every process may call ``apply_migrations`` at start-up: the advisory lock serialises
them, and ``schema_migrations`` makes each file run exactly once, in its own transaction.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from db.pool import Database

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
ADVISORY_LOCK_ID = 7_302_145_001  # arbitrary, stable: "fluentpro migrations"
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""
APPLIED = "SELECT version FROM schema_migrations"
RECORD = "INSERT INTO schema_migrations (version, name) VALUES (%(version)s, %(name)s)"


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[tuple[int, Path]]:
    """The migration files in order; a misnamed or duplicate number is an error."""
    found: dict[int, Path] = {}
    for path in sorted(directory.glob("*.sql")):
        m = _NAME.match(path.name)
        if not m:
            raise ValueError(f"migration file name must be NNNN_name.sql: {path.name}")
        version = int(m.group(1))
        if version in found:
            raise ValueError(
                f"two migrations numbered {version}: {found[version].name}, {path.name}"
            )
        found[version] = path
    return sorted(found.items())


async def apply_migrations(db: Database, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply pending migrations; returns the names applied by this call."""
    applied_now: list[str] = []
    async with db.pool.acquire() as conn:
        async with conn.cursor() as cur:
            # Session-level lock: held across the per-migration transactions below.
            await cur.execute("SELECT pg_advisory_lock(%s)", (ADVISORY_LOCK_ID,))
            try:
                await cur.execute(CREATE_TABLE)
                await cur.execute(APPLIED)
                done = {row[0] for row in await cur.fetchall()}
                for version, path in migration_files(directory):
                    if version in done:
                        continue
                    await cur.execute("BEGIN")
                    try:
                        await cur.execute(path.read_text())
                        await cur.execute(RECORD, {"version": version, "name": path.name})
                    except BaseException:
                        await cur.execute("ROLLBACK")
                        raise
                    await cur.execute("COMMIT")
                    applied_now.append(path.name)
                    log.info("applied migration %s", path.name)
            finally:
                await cur.execute("SELECT pg_advisory_unlock(%s)", (ADVISORY_LOCK_ID,))
    return applied_now
