"""The catalog seed loads once, idempotently, and the DB rows rebuild the same catalog."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

from db.catalog_seed import SEED_DIR, fetch_catalog_rows, load_seed
from db.pool import Database, PoolSettings
from services.career.catalog import Catalog


async def test_seed_is_idempotent_and_complete(database_url: str, tmp_path: Path) -> None:
    db = await Database.connect(PoolSettings(dsn=database_url, minsize=1, maxsize=4))
    try:
        # The session fixture already loaded it: unchanged files are skipped.
        assert await load_seed(db) is False
        rows = await fetch_catalog_rows(db)
        for name in ("skills", "roles", "courses"):
            shipped = json.loads((SEED_DIR / f"{name}.json").read_text())
            assert len(rows[name]) >= len(shipped)
        catalog = Catalog.from_dicts(rows["skills"], rows["roles"], rows["courses"])
        assert catalog.role("Data Scientist") is not None
        assert all(isinstance(c.duration_hours, float) for c in catalog.courses)

        # Changed files: several "processes" start together; exactly one loads.
        for name in ("skills.json", "roles.json", "courses.json"):
            shutil.copy(SEED_DIR / name, tmp_path / name)
        courses = json.loads((tmp_path / "courses.json").read_text())
        courses[0]["title"] = courses[0]["title"] + " (2nd edition)"
        (tmp_path / "courses.json").write_text(json.dumps(courses))
        results = await asyncio.gather(*(load_seed(db, tmp_path) for _ in range(3)))
        assert sorted(results) == [False, False, True]
        title = await db.fetch_val(
            "SELECT title FROM courses WHERE id = %(id)s", {"id": courses[0]["id"]}
        )
        assert title.endswith("(2nd edition)")
        # Back to the shipped seed for the rest of the suite.
        assert await load_seed(db) is True
    finally:
        await db.close()
