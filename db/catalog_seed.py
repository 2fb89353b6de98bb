"""Load the catalog seed data (db/seed/*.json) into PostgreSQL, idempotently."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from db.pool import Database

log = logging.getLogger(__name__)

SEED_DIR = Path(__file__).resolve().parent / "seed"


async def load_seed(db: Database) -> None:
    """Upsert skills, roles and courses (placeholder until the catalog lands)."""
    files = [SEED_DIR / n for n in ("skills.json", "roles.json", "courses.json")]
    if not all(p.exists() for p in files):
        log.warning("catalog seed files missing in %s", SEED_DIR)
        return
    _ = [json.loads(p.read_text()) for p in files]  # type: Any
