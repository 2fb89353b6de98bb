"""Finding 12 (2026-12-07): ``GET /recommendations/roles`` changed state — it stored a
recommendation and marked an onboarding step, so a link or prefetch acted for the user."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from server.keys import DB
from tests.helpers import register_user

ROLES = "/api/v1/recommendations/roles"


async def test_get_roles_changes_nothing_post_does(client: TestClient[Any, Any]) -> None:
    who = await register_user(client)
    db = client.app[DB]
    count = "SELECT count(*) FROM recommendations WHERE user_id = %(u)s"

    async def roles_step_done() -> bool:
        r = await client.get("/api/v1/onboarding/progress", headers=who.headers)
        steps = (await r.json())["progress_analysis"]["steps"]
        return next(s["done"] for s in steps if s["key"] == "roles_viewed")

    r = await client.get(
        ROLES, params={"description": "Python, SQL and data pipelines"}, headers=who.headers
    )
    assert r.status == 200, await r.text()
    assert (await r.json())["recommendations"]
    assert await db.fetch_val(count, {"u": who.user["id"]}) == 0
    assert not await roles_step_done()

    r = await client.post(
        ROLES, json={"job_description": "Python, SQL and data pipelines"}, headers=who.headers
    )
    assert r.status == 200, await r.text()
    assert await db.fetch_val(count, {"u": who.user["id"]}) == 1
    assert await roles_step_done()
