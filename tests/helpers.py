"""Helpers for tests that need a signed-in user (or an administrator)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from aiohttp.test_utils import TestClient

from handlers.keys import ACCOUNTS

# Passes the password policy (long, unrelated words, not on any common list).
DEFAULT_PASSWORD = "copper-lantern-orbit-meadow-42"


@dataclass
class Authed:
    token: str
    user: dict[str, Any]
    headers: dict[str, str]  # {"Authorization": "Bearer ..."}


async def register_user(
    client: TestClient[Any, Any],
    *,
    email: str | None = None,
    password: str = DEFAULT_PASSWORD,
    display_name: str = "Test User",
) -> Authed:
    """Register a user (a unique e-mail by default) and return its bearer token and user."""
    email = email or f"user-{uuid.uuid4().hex[:12]}@example.com"
    r = await client.post(
        "/api/v1/auth/register",
        json={"email": email, "password": password, "display_name": display_name},
    )
    assert r.status == 201, await r.text()
    body = await r.json()
    token = body["token"]
    return Authed(token=token, user=body["user"], headers={"Authorization": f"Bearer {token}"})


async def make_admin(client: TestClient[Any, Any], authed: Authed) -> None:
    """Give the user the admin role; the same token sees it on its next request."""
    await client.app[ACCOUNTS].set_role(authed.user["id"], "admin")
    authed.user["role"] = "admin"
