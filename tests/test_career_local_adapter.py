"""The career local engine behind the AI gateway: coach chat and unknown features."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from server.keys import AI_GATEWAY, CAREER
from services.career.prompts import CHAT_FEATURE, CHAT_SYSTEM


async def _chat(client: TestClient[Any, Any], message: str, profile: dict[str, Any]) -> list[Any]:
    gateway = client.app[AI_GATEWAY]
    data = {"message": message, "profile": profile}
    return [c async for c in gateway.stream_text(CHAT_FEATURE, system=CHAT_SYSTEM, user_data=data)]


async def test_coach_chat_is_grounded_in_profile_and_catalog(client: TestClient[Any, Any]) -> None:
    chunks = await _chat(
        client,
        "I want to move into data engineering with Airflow and Spark.",
        {"current_role": "Data Analyst", "skills": ["SQL", "Python", "Excel"]},
    )
    assert len(chunks) > 2 and {c.source for c in chunks} == {"local"}
    text = "".join(c.delta for c in chunks)
    catalog = client.app[CAREER].catalog
    assert "Data Analyst" in text and "Data Engineer" in text
    assert any(course.title in text for course in catalog.courses)
    assert "SQL" in text  # the profile's skills are acknowledged


async def test_coach_chat_admits_when_it_cannot_match(client: TestClient[Any, Any]) -> None:
    chunks = await _chat(client, "hello there", {})
    assert "could not match" in "".join(c.delta for c in chunks)


async def test_unknown_feature_is_an_error(client: TestClient[Any, Any]) -> None:
    local = client.app[CAREER].local
    with pytest.raises(ValueError):
        await local.complete_json("horoscope", {})
    with pytest.raises(ValueError):
        async for _ in local.stream_text("horoscope", {}):
            pass
