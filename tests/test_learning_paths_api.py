"""Learning paths: prerequisite order, timeline fit, minimum weeks, pagination, ownership."""

from __future__ import annotations

import re
from typing import Any

from aiohttp.test_utils import TestClient

from handlers.keys import CAREER
from tests.career_helpers import signed_in
from tests.conftest import AppFactory
from tests.fake_ai import run_fake_ai

PATHS = "/api/v1/learning-paths"


async def _create(client: TestClient[Any, Any], headers: dict[str, str], **body: Any) -> Any:
    r = await client.post(PATHS, json=body, headers=headers)
    assert r.status == 201, await r.text()
    return await r.json()


def _minimum(problem: dict[str, Any]) -> int:
    text = " ".join(problem["errors"]["timeline_weeks"])
    match = re.search(r"minimum is (\d+) weeks", text)
    assert match, text
    return int(match.group(1))


async def test_path_respects_prerequisites_and_timeline(client: TestClient[Any, Any]) -> None:
    user = await signed_in(client, {"skills": ["Excel"]})
    path = await _create(client, user.headers, target_role="Data Analyst", timeline_weeks=104)
    assert path["source"] == "local" and path["timeline_weeks"] == 104
    assert path["target_role"]["title"] == "Data Analyst"
    assert path["skill_gaps"] and "Excel" not in path["skill_gaps"]
    catalog = client.app[CAREER].catalog
    known = {"excel"}
    weeks = [m["week"] for m in path["milestones"]]
    assert weeks == sorted(weeks) and all(1 <= w <= 104 for w in weeks)
    taught: set[str] = set(known)
    total = 0.0
    for milestone in path["milestones"]:
        for item in milestone["courses"]:
            course = catalog.course(item["course_id"])
            assert course is not None
            missing = [p for p in course.prerequisites if p not in taught]
            assert not missing, f"{course.title} comes before its prerequisites {missing}"
            taught.update(course.skills_taught)
            total += item["duration_hours"]
    assert total <= 104 * 5  # default 5 h/week fits the timeline

    r = await client.get(f"{PATHS}/{path['id']}", headers=user.headers)
    assert r.status == 200
    assert await r.json() == path


async def test_too_short_timeline_names_the_minimum(client: TestClient[Any, Any]) -> None:
    user = await signed_in(client)
    r = await client.post(
        PATHS, json={"target_role": "Data Engineer", "timeline_weeks": 1}, headers=user.headers
    )
    assert r.status == 422, await r.text()
    minimum = _minimum(await r.json())
    assert minimum > 1
    fitted = await _create(
        client, user.headers, target_role="Data Engineer", timeline_weeks=minimum
    )
    assert fitted["timeline_weeks"] == minimum
    assert max(m["week"] for m in fitted["milestones"]) <= minimum

    # More weekly hours in the profile: a shorter minimum.
    r = await client.patch(
        "/api/v1/me", json={"profile": {"weekly_hours": 20}}, headers=user.headers
    )
    assert r.status == 200, await r.text()
    r = await client.post(
        PATHS, json={"target_role": "Data Engineer", "timeline_weeks": 1}, headers=user.headers
    )
    assert r.status == 422
    assert _minimum(await r.json()) < minimum


async def test_bad_input(client: TestClient[Any, Any]) -> None:
    user = await signed_in(client)
    r = await client.post(
        PATHS, json={"target_role": "Chief Unicorn Wrangler"}, headers=user.headers
    )
    assert r.status == 422
    problem = await r.json()
    assert "target_role" in problem["errors"] and "Chief Unicorn" in problem["detail"]
    for body in (
        {"target_role": "Data Analyst", "timeline_weeks": 0},
        {"timeline_weeks": 5},
        {"target_role": "Data Analyst", "timeline_weeks": 105},
    ):
        r = await client.post(PATHS, json=body, headers=user.headers)
        assert r.status == 422, body
    # By id works as well as by title; no timeline: the minimum that fits.
    role = client.app[CAREER].catalog.role("UX Designer")
    assert role is not None
    path = await _create(client, user.headers, target_role=role.id)
    assert path["target_role"]["role_id"] == role.id and path["timeline_weeks"] >= 1


async def test_list_pagination_and_ownership(client: TestClient[Any, Any]) -> None:
    user = await signed_in(client)
    created = [
        await _create(client, user.headers, target_role=title, timeline_weeks=104)
        for title in ("Data Analyst", "UX Designer", "Software Engineer")
    ]
    r = await client.get(PATHS, params={"limit": "2"}, headers=user.headers)
    assert r.status == 200
    page1 = await r.json()
    assert [p["id"] for p in page1["items"]] == [created[2]["id"], created[1]["id"]]
    assert page1["next_cursor"]
    r = await client.get(
        PATHS, params={"limit": "2", "cursor": page1["next_cursor"]}, headers=user.headers
    )
    page2 = await r.json()
    assert [p["id"] for p in page2["items"]] == [created[0]["id"]]
    assert page2["next_cursor"] is None
    for params in ({"cursor": "garbage!"}, {"cursor": "WzFd"}, {"limit": "0"}, {"limit": "101"}):
        r = await client.get(PATHS, params=params, headers=user.headers)
        assert r.status == 422, params

    other = await signed_in(client)
    r = await client.get(f"{PATHS}/{created[0]['id']}", headers=other.headers)
    assert r.status == 404
    r = await client.get(PATHS, headers=other.headers)
    assert (await r.json()) == {"items": [], "next_cursor": None}
    r = await client.get(f"{PATHS}/not-a-uuid", headers=user.headers)
    assert r.status == 404


async def test_provider_path_is_checked_against_the_catalog(make_client: AppFactory) -> None:
    async with run_fake_ai() as fake:
        client = await make_client(ai={"base_url": fake.url, "max_retries": 0})
        user = await signed_in(client)
        catalog = client.app[CAREER].catalog
        sql = catalog.courses_for_skill("sql")[0]
        fake.set(
            data={
                "milestones": [
                    {"week": 2, "title": "SQL basics", "skills": ["SQL"], "course_ids": [sql.id]},
                    {"week": 3, "title": "Made up", "course_ids": ["no-such-course"]},
                ],
                "skill_gaps": ["SQL"],
            }
        )
        path = await _create(client, user.headers, target_role="Data Analyst", timeline_weeks=104)
        assert path["source"] == "ai"
        assert [m["title"] for m in path["milestones"]] == ["SQL basics"]
        assert path["milestones"][0]["courses"][0]["course_id"] == sql.id
        # The too-short timeline is refused before any provider call.
        calls = fake.calls
        r = await client.post(
            PATHS, json={"target_role": "Data Analyst", "timeline_weeks": 1}, headers=user.headers
        )
        assert r.status == 422 and fake.calls == calls
        # Nothing from the catalog, or weeks past the timeline: the local planner answers.
        fake.set(data={"milestones": [{"week": 1, "title": "x", "course_ids": ["nope"]}]})
        path = await _create(client, user.headers, target_role="UX Designer", timeline_weeks=104)
        assert path["source"] == "local" and path["milestones"][0]["courses"]
        fake.set(data={"milestones": [{"week": 99, "title": "late", "course_ids": [sql.id]}]})
        minimum = await client.post(
            PATHS, json={"target_role": "Data Analyst", "timeline_weeks": 1}, headers=user.headers
        )
        weeks = _minimum(await minimum.json())
        path = await _create(client, user.headers, target_role="Data Analyst", timeline_weeks=weeks)
        assert path["source"] == "local"
