"""The local-engine protocol: deterministic, in-process answers for every AI feature.

The career engine (``services/career/local_adapter.py``) implements it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class LocalEngine(Protocol):
    """Deterministic, in-process answers for every AI feature."""

    async def complete_json(self, feature: str, user_data: dict[str, Any]) -> dict[str, Any]:
        """A JSON answer for ``feature`` that validates against the feature's schema."""
        ...

    def stream_text(self, feature: str, user_data: dict[str, Any]) -> AsyncIterator[str]:
        """Text deltas answering ``feature`` (an async generator)."""
        ...
