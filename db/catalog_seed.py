"""Load the catalog seed data (db/seed/*.json) into PostgreSQL, idempotently.

Start-ups compare a SHA-256 of the seed files with the one recorded in
``catalog_seed_state`` and skip the upsert when nothing changed. Otherwise the upsert
runs in one transaction under a transaction-level advisory lock, so several processes
starting together load the seed once and never see a half-loaded catalog.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from db.pool import Database
from db.queries import catalog as q

log = logging.getLogger(__name__)

SEED_DIR = Path(__file__).resolve().parent / "seed"
SEED_FILES = ("skills.json", "roles.json", "courses.json")
SEED_NAME = "catalog"


def _read_seed(folder: Path) -> tuple[str, dict[str, bytes]] | None:
    """The files' checksum and raw contents, or None when a file is missing."""
    paths = [folder / name for name in SEED_FILES]
    if not all(p.exists() for p in paths):
        return None
    digest = hashlib.sha256()
    raw: dict[str, bytes] = {}
    for path in paths:
        data = path.read_bytes()
        digest.update(path.name.encode() + b"\0" + data + b"\0")
        raw[path.stem] = data
    return digest.hexdigest(), raw


async def load_seed(db: Database, folder: Path = SEED_DIR) -> bool:
    """Upsert skills, roles and courses unless the seed files are unchanged.

    Returns True when this call loaded the seed, False when it was already current.
    """
    read = await asyncio.to_thread(_read_seed, folder)
    if read is None:
        log.warning("catalog seed files missing in %s", folder)
        return False
    checksum, raw = read
    if await db.fetch_val(q.SEED_CHECKSUM, {"name": SEED_NAME}) == checksum:
        return False
    async with db.transaction() as cur:
        await cur.execute(q.SEED_LOCK, {"lock_id": q.SEED_LOCK_ID})
        await cur.execute(q.SEED_CHECKSUM, {"name": SEED_NAME})
        row = await cur.fetchone()
        if row is not None and row["checksum"] == checksum:
            return False  # another process loaded it while we waited for the lock
        # The JSON goes to PostgreSQL as one parameter per table (jsonb_to_recordset).
        await cur.execute(q.UPSERT_SKILLS, {"rows": raw["skills"].decode("utf-8")})
        await cur.execute(q.UPSERT_ROLES, {"rows": raw["roles"].decode("utf-8")})
        await cur.execute(q.UPSERT_COURSES, {"rows": raw["courses"].decode("utf-8")})
        await cur.execute(q.SEED_RECORD, {"name": SEED_NAME, "checksum": checksum})
    log.info("catalog seed loaded (checksum %s)", checksum[:12])
    return True


async def fetch_catalog_rows(db: Database) -> dict[str, list[dict[str, Any]]]:
    """Every skill, role and course as dicts shaped like the seed JSON (the DB is the
    system of record; the in-memory catalog is built from these rows)."""
    skills = await db.fetch_all(q.ALL_SKILLS)
    roles = await db.fetch_all(q.ALL_ROLES)
    courses = await db.fetch_all(q.ALL_COURSES)
    for row in roles:
        if isinstance(row["required_skills"], str):  # jsonb arrives parsed; be safe
            row["required_skills"] = json.loads(row["required_skills"])
    return {"skills": skills, "roles": roles, "courses": courses}
