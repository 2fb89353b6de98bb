"""The local-engine protocol and a small generic engine (tests, defaults).

The real career engine lives elsewhere and implements ``LocalEngine``.
"""

from __future__ import annotations

import json
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


class EchoLocalEngine:
    """Generic engine: answers per feature from ``answers`` (or echoes the input)."""

    def __init__(
        self,
        answers: dict[str, dict[str, Any]] | None = None,
        *,
        text: str = "Here is a locally generated answer.",
    ) -> None:
        self.answers = dict(answers or {})
        self.text = text
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def complete_json(self, feature: str, user_data: dict[str, Any]) -> dict[str, Any]:
        """The configured answer for ``feature``, else ``{"echo": <user_data as JSON>}``."""
        self.calls.append((feature, user_data))
        if feature in self.answers:
            return dict(self.answers[feature])
        return {"echo": json.dumps(user_data, sort_keys=True, default=str)}

    async def stream_text(self, feature: str, user_data: dict[str, Any]) -> AsyncIterator[str]:
        """``text`` word by word."""
        self.calls.append((feature, user_data))
        words = self.text.split(" ")
        for i, word in enumerate(words):
            yield word if i == len(words) - 1 else word + " "
