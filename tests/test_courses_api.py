"""Course search: PostgreSQL full-text search, skill/difficulty filters, cursor pages."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from tests.career_helpers import signed_in

COURSES = "/api/v1/courses"


async def _get(client: TestClient[Any, Any], headers: dict[str, str], **params: Any) -> Any:
    r = await client.get(COURSES, params=params, headers=headers)
    assert r.status == 200, await r.text()
    return await r.json()


async def test_full_text_search_ranks_title_matches(client: TestClient[Any, Any]) -> None:
    user = await signed_in(client)
    page = await _get(client, user.headers, q="kubernetes", limit=10)
    titles = [c["title"] for c in page["items"]]
    assert titles and all(
        "kubernetes" in (c["title"] + c["description"]).lower() for c in page["items"]
    )
    assert "Kubernetes" in titles[0]
    rel = [c["relevance"] for c in page["items"]]
    assert rel == sorted(rel, reverse=True)
    # Stemming: "tested applications" finds "testing" and "application".
    stemmed = await _get(client, user.headers, q="tested applications")
    assert any("testing" in c["description"] for c in stemmed["items"])
    assert (await _get(client, user.headers, q="zzqxqzz"))["items"] == []


async def test_filters(client: TestClient[Any, Any]) -> None:
    user = await signed_in(client)
    k8s = await _get(client, user.headers, skill="k8s", limit=100)  # a synonym
    assert len(k8s["items"]) == 5
    assert all("kubernetes" in c["skills_taught"] for c in k8s["items"])
    adv = await _get(client, user.headers, skill="kubernetes", difficulty="advanced")
    assert adv["items"] and all(c["difficulty"] == "advanced" for c in adv["items"])
    r = await client.get(
        COURSES, params=[("skill", "docker"), ("skill", "kubernetes")], headers=user.headers
    )
    both = (await r.json())["items"]
    assert both and all({"docker", "kubernetes"} <= set(c["skills_taught"]) for c in both)
    assert (await _get(client, user.headers, skill="basket weaving"))["items"] == []
    q_and_filter = await _get(client, user.headers, q="python", difficulty="beginner")
    assert q_and_filter["items"]
    assert all(c["difficulty"] == "beginner" for c in q_and_filter["items"])


async def test_cursor_pagination(client: TestClient[Any, Any]) -> None:
    user = await signed_in(client)
    for params in ({"q": "data"}, {"difficulty": "intermediate"}):
        everything = await _get(client, user.headers, limit=100, **params)
        ids = [c["id"] for c in everything["items"]]
        paged: list[str] = []
        cursor = None
        while True:
            extra: dict[str, str] = {"cursor": cursor} if cursor else {}
            page = await _get(client, user.headers, limit=7, **params, **extra)
            assert len(page["items"]) <= 7
            paged += [c["id"] for c in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert len(paged) == len(set(paged)) > 7
        if len(ids) < 100:
            assert paged == ids
        else:
            assert paged[:100] == ids


async def test_bad_queries(client: TestClient[Any, Any]) -> None:
    user = await signed_in(client)
    plain = await _get(client, user.headers, limit=2)
    ranked = await _get(client, user.headers, q="python", limit=2)
    bad = [
        {"cursor": "not a cursor"},
        {"cursor": "WzFd"},  # valid base64 JSON [1], but not ours
        {"cursor": ranked["next_cursor"]},  # a ranked cursor without the query
        {"q": "python", "cursor": plain["next_cursor"]},
        {"difficulty": "expert"},
        {"limit": "0"},
        {"limit": "101"},
        {"limit": "ten"},
        {"unknown": "1"},
        {"q": "python\x00"},
    ]
    for params in bad:
        r = await client.get(COURSES, params=params, headers=user.headers)
        assert r.status == 422, (params, await r.text())
    client.session.cookie_jar.clear()
    r = await client.get(COURSES)
    assert r.status == 401
