"""Random JSON bodies to the public account and password routes: never a 500."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import AppFactory

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=20,
)
FIELDS = st.sampled_from(
    ["email", "password", "display_name", "context", "length", "style", "words"]
)
# Mostly objects with the routes' own field names, so validation passes now and then.
BODIES = (
    JSON
    | st.dictionaries(FIELDS, JSON, max_size=5)
    | st.fixed_dictionaries(
        {"email": st.emails() | st.text(max_size=20), "password": st.text(max_size=80)}
    )
)
ROUTES = (
    "/api/v1/auth/register",
    "/api/v1/auth/login",
    "/api/v1/passwords/analyze",
    "/api/v1/passwords/generate",
)
FUZZ = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture
async def fuzz_client(make_client: AppFactory) -> TestClient[Any, Any]:
    return await make_client(limits={"anonymous_requests_per_minute": 100_000})


async def check(client: TestClient[Any, Any], path: str, body: Any) -> None:
    r = await client.post(
        path, data=orjson.dumps(body), headers={"Content-Type": "application/json"}
    )
    text = await r.text()
    assert r.status < 500, (path, body, text)
    if r.status >= 400:
        assert r.content_type == "application/problem+json", text
        assert orjson.loads(text)["status"] == r.status


@pytest.mark.parametrize("path", ROUTES)
@FUZZ
@given(body=BODIES)
async def test_random_bodies_never_500(
    fuzz_client: TestClient[Any, Any], path: str, body: Any
) -> None:
    await check(fuzz_client, path, body)
