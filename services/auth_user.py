"""The authenticated principal that the auth middleware attaches to a request."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class AuthUser:
    id: str
    email: str
    display_name: str
    role: str  # "user" | "admin"
    session_id: str
    via_cookie: bool = False

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class Authenticator(Protocol):
    """Turns a presented token into a user (None when unknown, expired or revoked)."""

    async def authenticate(
        self, token: str, *, via_cookie: bool = False
    ) -> AuthUser | None: ...
