"""Recording learning interactions and listing adaptive recommendations."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from db.pool import Database
from db.queries import activity as q
from services.adaptive import public
from services.analysis_queue import AnalysisQueue
from services.errors import ValidationFailed
from services.onboarding import OnboardingService

log = logging.getLogger(__name__)


class InteractionService:
    """Stores an interaction, then hands the analysis to the queue (off the request path)."""

    def __init__(
        self,
        db: Database,
        analysis: AnalysisQueue,
        onboarding: OnboardingService,
        *,
        payload_max_bytes: int,
    ) -> None:
        self._db = db
        self._analysis = analysis
        self._onboarding = onboarding
        self._payload_max = payload_max_bytes

    async def record(self, user_id: str, event: dict[str, Any]) -> dict[str, Any]:
        """Store a validated interaction body; returns ``{"id": ...}``.

        Raises ValidationFailed for an unknown course or an oversized payload.
        """
        payload = json.dumps(event.get("payload") or {}, separators=(",", ":"))
        if len(payload.encode()) > self._payload_max:
            raise ValidationFailed(
                "The payload is too large.",
                errors={"payload": [f"At most {self._payload_max} bytes of JSON."]},
            )
        course_id = event.get("course_id")
        if course_id is not None:
            course_id = str(course_id)
            if await self._db.fetch_one(q.COURSE_EXISTS, {"id": course_id}) is None:
                raise ValidationFailed(
                    "Unknown course.", errors={"course_id": ["No course has this id."]}
                )
        row = await self._db.fetch_one(
            q.INSERT_INTERACTION,
            {
                "user_id": user_id,
                "type": event["type"],
                "course_id": course_id,
                "value": event.get("value"),
                "payload": payload,
            },
        )
        if row is None:  # INSERT … RETURNING always returns a row
            raise RuntimeError("interaction insert returned nothing")
        self._analysis.submit(str(user_id))
        await self._onboarding.notify_onboarding_changed(str(user_id))
        return {"id": str(row["id"]), "created_at": row["created_at"].isoformat()}

    async def list_adaptive(
        self, user_id: str, *, limit: int, after: tuple[datetime, str] | None
    ) -> tuple[list[dict[str, Any]], tuple[str, str] | None]:
        """A page of the user's adaptive recommendations, newest first, and the next position."""
        params: dict[str, Any] = {"user_id": user_id, "limit": limit + 1}
        if after is None:
            rows = await self._db.fetch_all(q.LIST_ADAPTIVE_FIRST, params)
        else:
            params.update(created_at=after[0], id=after[1])
            rows = await self._db.fetch_all(q.LIST_ADAPTIVE_AFTER, params)
        items = [public(r) for r in rows[:limit]]
        nxt = None
        if len(rows) > limit:
            last = rows[limit - 1]
            nxt = (last["created_at"].isoformat(), str(last["id"]))
        return items, nxt
