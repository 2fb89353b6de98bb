"""Helpers of the career API tests."""

from __future__ import annotations

from typing import Any

from aiohttp.test_utils import TestClient

from tests.helpers import Authed, register_user


async def signed_in(client: TestClient[Any, Any], profile: dict[str, Any] | None = None) -> Authed:
    """A new user, with ``profile`` set through PATCH /me when given."""
    authed = await register_user(client)
    if profile is not None:
        r = await client.patch("/api/v1/me", json={"profile": profile}, headers=authed.headers)
        assert r.status == 200, await r.text()
    return authed
