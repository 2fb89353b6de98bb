"""The career local engine behind the AI gateway: coach chat and unknown features."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import redis.asyncio as aioredis

from services.ai.cache import AICache
from services.ai.gateway import AIGateway, StreamChunk
from services.breaker.local import LocalCircuitBreaker
from services.career.catalog import load_seed_catalog
from services.career.engine import LocalCareerEngine
from services.career.local_adapter import CareerLocalEngine
from services.career.prompts import CHAT_FEATURE, ROLES_FEATURE

# A chat system prompt for the gateway calls below (the coach has its own, in chat.py).
CHAT_SYSTEM = """You are FluentPro's career coach. Answer the user's message in a few plain
sentences, grounded in their profile and the catalog facts given in the data. Do not invent
courses or roles that are not listed there."""


@pytest.fixture(scope="module")
def local() -> Iterator[CareerLocalEngine]:
    engine = LocalCareerEngine(load_seed_catalog())
    with ThreadPoolExecutor(max_workers=2) as pool:
        yield CareerLocalEngine(engine, engine.catalog, engine.extractor, pool)


@pytest.fixture
def gateway(local: CareerLocalEngine, redis: aioredis.Redis) -> AIGateway:
    return AIGateway(
        provider=None,
        local=local,
        breaker=LocalCircuitBreaker("career-test"),
        cache=AICache(redis),
        quota=None,
        model_name="none",
    )


async def _chat(gateway: AIGateway, message: str, profile: dict[str, Any]) -> list[StreamChunk]:
    data = {"message": message, "profile": profile}
    return [c async for c in gateway.stream_text(CHAT_FEATURE, system=CHAT_SYSTEM, user_data=data)]


async def test_coach_chat_is_grounded_in_profile_and_catalog(
    gateway: AIGateway, local: CareerLocalEngine
) -> None:
    chunks = await _chat(
        gateway,
        "I want to move into data engineering with Airflow and Spark.",
        {"current_role": "Data Analyst", "skills": ["SQL", "Python", "Excel"]},
    )
    assert len(chunks) > 2 and {c.source for c in chunks} == {"local"}
    text = "".join(c.delta for c in chunks)
    assert "Data Analyst" in text and "Data Engineer" in text
    assert any(course.title in text for course in local.catalog.courses)
    assert "SQL" in text  # the profile's skills are acknowledged


async def test_coach_chat_admits_when_it_cannot_match(gateway: AIGateway) -> None:
    chunks = await _chat(gateway, "hello there", {})
    assert "could not match" in "".join(c.delta for c in chunks)


async def test_roles_feature_through_the_gateway(gateway: AIGateway) -> None:
    from services.career.prompts import ProviderRolesSchema

    result = await gateway.complete_json(
        ROLES_FEATURE,
        system="unused without a provider",
        user_data={"job_description": "Scrum master running sprints", "limit": 3, "profile": {}},
        schema=ProviderRolesSchema(gateway.local.catalog),  # type: ignore[attr-defined]
    )
    assert result.source == "local"
    assert result.data["recommendations"][0]["family"] == "operations"


async def test_unknown_feature_is_an_error(local: CareerLocalEngine) -> None:
    with pytest.raises(ValueError):
        await local.complete_json("horoscope", {})
    with pytest.raises(ValueError):
        async for _ in local.stream_text("horoscope", {}):
            pass
