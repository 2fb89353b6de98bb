"""The authenticated principal that the auth middleware attaches to a request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class AuthUser:
    id: str
    email: str
    display_name: str
    role: str  # "user" | "admin"
    session_id: str
    via_cookie: bool = False
    # The public user record as of authentication (GET /me serves it without a query).
    record: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)
    # When the session expires (Unix time) as of authentication: open sockets close then.
    expires_at: float | None = field(default=None, compare=False)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class Authenticator(Protocol):
    """Turns a presented token into a user (None when unknown, expired or revoked)."""

    async def authenticate(self, token: str, *, via_cookie: bool = False) -> AuthUser | None: ...

    def remembered(self, token: str, *, via_cookie: bool = False) -> AuthUser | None:
        """The user for *token* if this process can answer from memory alone, else None
        (then ``authenticate`` decides): the request path's no-await fast lane."""
        ...
