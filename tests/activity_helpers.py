"""Helpers for the learning-activity tests: catalog picks, interactions, waiting for analysis."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp.test_utils import TestClient

from handlers.keys import ANALYSIS_QUEUE, DB
from tests.helpers import Authed

ADVANCED_WITH_PREREQUISITES = """
SELECT id::text, title, skills_taught, prerequisites FROM courses
WHERE difficulty = 'advanced' AND cardinality(prerequisites) > 0
ORDER BY slug LIMIT %(n)s
"""

# A beginner course with an intermediate course on one of its skills.
BEGINNER_WITH_NEXT = """
SELECT b.id::text, b.title, b.skills_taught, b.duration_hours FROM courses b
WHERE b.difficulty = 'beginner' AND EXISTS (
    SELECT 1 FROM courses i WHERE i.difficulty = 'intermediate'
      AND i.skills_taught && b.skills_taught)
ORDER BY b.slug LIMIT 1
"""

COURSE = "SELECT id::text, difficulty, skills_taught, prerequisites FROM courses WHERE id = %(id)s"


async def interact(
    client: TestClient[Any, Any], who: Authed, type_: str, **fields: Any
) -> dict[str, Any]:
    """POST one interaction; asserts 202."""
    r = await client.post(
        "/api/v1/interactions", json={"type": type_, **fields}, headers=who.headers
    )
    assert r.status == 202, await r.text()
    return dict(await r.json())


async def analysed(client: TestClient[Any, Any], limit_s: float = 10.0) -> None:
    """Wait until every queued analysis of this app has run."""
    async with asyncio.timeout(limit_s):
        await client.app[ANALYSIS_QUEUE].join()


async def adaptive(client: TestClient[Any, Any], who: Authed) -> list[dict[str, Any]]:
    """The user's adaptive recommendations (first page of 100)."""
    r = await client.get("/api/v1/recommendations/adaptive?limit=100", headers=who.headers)
    assert r.status == 200, await r.text()
    return list((await r.json())["items"])


async def fetch_all(client: TestClient[Any, Any], sql: str, **params: Any) -> list[dict[str, Any]]:
    return await client.app[DB].fetch_all(sql, params)
