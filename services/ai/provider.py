"""OpenAI-compatible provider: chat completions in JSON mode and as a text stream."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any, cast

from openai import AsyncOpenAI, AsyncStream
from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageParam

DEFAULT_ATTEMPT_TIMEOUT_S = 8.0


class ProviderError(Exception):
    """The provider answered, but not with something usable (e.g. empty content)."""


def make_openai_client(
    *,
    base_url: str | None,
    api_key: str,
    max_retries: int = 2,
    attempt_timeout_s: float = DEFAULT_ATTEMPT_TIMEOUT_S,
) -> AsyncOpenAI:
    """An ``AsyncOpenAI`` with bounded retries (honouring Retry-After) and a per-attempt
    timeout; the gateway bounds the whole call with its own deadline."""
    return AsyncOpenAI(
        base_url=base_url or None,
        api_key=api_key,
        max_retries=max_retries,
        timeout=attempt_timeout_s,
    )


class OpenAIProvider:
    """Thin wrapper over ``client.chat.completions`` for one model."""

    def __init__(
        self, client: AsyncOpenAI, model: str, *, attempt_timeout_s: float | None = None
    ) -> None:
        self.client = client
        self.model = model
        if attempt_timeout_s is None:
            configured = client.timeout
            attempt_timeout_s = (
                float(configured)
                if isinstance(configured, int | float)
                else DEFAULT_ATTEMPT_TIMEOUT_S
            )
        self.attempt_timeout_s = attempt_timeout_s

    def _timeout(self, remaining_s: float | None) -> float:
        if remaining_s is None:
            return self.attempt_timeout_s
        return max(0.01, min(self.attempt_timeout_s, remaining_s))

    async def complete_json(
        self, messages: list[dict[str, str]], *, attempt_timeout_s: float | None = None
    ) -> str:
        """The raw message content of a JSON-mode completion (not yet parsed or trusted).

        ``attempt_timeout_s`` caps each attempt (the time left before the caller's deadline).
        """
        response = await self.client.chat.completions.create(
            model=self.model,
            messages=cast("list[ChatCompletionMessageParam]", messages),
            response_format={"type": "json_object"},
            timeout=self._timeout(attempt_timeout_s),
        )
        if not response.choices or not response.choices[0].message.content:
            raise ProviderError("empty completion")
        return response.choices[0].message.content

    async def open_stream(
        self, messages: list[dict[str, str]], *, attempt_timeout_s: float | None = None
    ) -> AsyncStream[ChatCompletionChunk]:
        """Start a streamed completion; the caller must ``await stream.close()``."""
        return await self.client.chat.completions.create(
            model=self.model,
            messages=cast("list[ChatCompletionMessageParam]", messages),
            stream=True,
            timeout=self._timeout(attempt_timeout_s),
        )

    @staticmethod
    async def deltas(stream: AsyncStream[ChatCompletionChunk]) -> AsyncGenerator[str, None]:
        """The non-empty text deltas of a stream."""
        async for chunk in stream:
            for choice in chunk.choices:
                content: Any = choice.delta.content if choice.delta else None
                if content:
                    yield str(content)

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.client.close()
