"""The personal data export: NDJSON lines read from one consistent snapshot.

Order: ``profile``, ``session`` (auth sessions — never token hashes — and learning
sessions, ``data.kind`` = ``auth`` | ``learning``), ``interaction``, ``recommendation``
(career and adaptive, ``data.origin``), ``learning_path``, ``task``, then
``{"type": "end", "counts": {...}}`` counting exactly the lines sent.

Every section is a ``DECLARE … CURSOR`` read in batches inside one
``REPEATABLE READ READ ONLY`` transaction; each batch is yielded as one chunk, so memory
stays flat. Close the generator (``contextlib.aclosing``) when the client goes away: the
transaction rolls back and the connection returns to the pool at once.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime

import orjson

from db.pool import Database
from db.queries import export as q
from services.clock import utcnow

SECTIONS: tuple[tuple[str, str], ...] = (
    ("profile", q.EXPORT_PROFILE),
    ("session", q.EXPORT_SESSIONS),
    ("interaction", q.EXPORT_INTERACTIONS),
    ("recommendation", q.EXPORT_RECOMMENDATIONS),
    ("learning_path", q.EXPORT_LEARNING_PATHS),
    ("task", q.EXPORT_TASKS),
)


def export_filename(now: datetime | None = None) -> str:
    """``fluentpro-export-<YYYY-MM-DD>.ndjson`` (UTC date)."""
    return f"fluentpro-export-{(now or utcnow()).date().isoformat()}.ndjson"


class ExportService:
    """Streams one user's data as NDJSON chunks."""

    def __init__(self, db: Database, *, batch: int) -> None:
        self._db = db
        self._batch = batch

    async def export(self, user_id: str) -> AsyncGenerator[bytes, None]:
        """Yield NDJSON chunks (whole lines); the last chunk is the ``end`` line."""
        counts = {kind: 0 for kind, _ in SECTIONS}
        params = {"user_id": str(user_id)}
        async with self._db.snapshot() as snap:
            for kind, sql in SECTIONS:
                async for rows in snap.batches(sql, params, batch=self._batch):
                    counts[kind] += len(rows)
                    yield ("\n".join([r[0] for r in rows]) + "\n").encode()
        yield orjson.dumps({"type": "end", "counts": counts}) + b"\n"
