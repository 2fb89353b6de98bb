"""A small local OpenAI-compatible server for tests (``POST /v1/chat/completions``).

Tell it per test how to behave with ``fake.set(...)`` (every request) or
``fake.script(...)`` (the next requests, one behaviour each, then the default):

- ``Behaviour(data={...})``                       answer this JSON object (JSON mode)
- ``Behaviour(delay=2)``                          wait before answering
- ``Behaviour(status=500)``                       answer 500
- ``Behaviour(status=429, retry_after=1)``        answer 429 with Retry-After
- ``Behaviour(hang=True)``                        never answer (until the client leaves)
- ``Behaviour(content="not json")``               answer this raw message content
- ``Behaviour(deltas=[...], cut_after=3)``        stream 3 deltas then cut the connection
- ``Behaviour(deltas=[...], delta_delay=0.5)``    wait between deltas
- ``Behaviour(hold=True)``                        wait until ``fake.release.set()``

It records every request body (``fake.requests``), counts calls (``fake.calls``), the
calls in flight (``fake.in_flight``), and when a streaming client's connection was closed
before the stream ended (``fake.stream_closed`` event, ``fake.stream_closed_at``).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

from aiohttp import web

DEFAULT_DATA: dict[str, Any] = {"answer": "ok"}


@dataclass(frozen=True)
class Behaviour:
    """How the fake answers one request."""

    data: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_DATA))
    content: str | None = None
    status: int = 200
    retry_after: float | None = None
    delay: float = 0.0
    hang: bool = False
    hold: bool = False
    deltas: list[str] | None = None
    cut_after: int | None = None
    delta_delay: float = 0.0


class FakeAI:
    """The server's state; ``url`` is the ``base_url`` for ``AsyncOpenAI``."""

    def __init__(self) -> None:
        self.default = Behaviour()
        self._queue: deque[Behaviour] = deque()
        self.requests: list[dict[str, Any]] = []
        self.calls = 0
        self.in_flight = 0
        self.release = asyncio.Event()
        self.received = asyncio.Condition()
        self.stream_closed = asyncio.Event()
        self.stream_closed_at: float | None = None
        self.url = ""

    def set(self, behaviour: Behaviour | None = None, **kwargs: Any) -> None:
        """Answer every request this way (kwargs build or amend a ``Behaviour``)."""
        self.default = replace(behaviour or Behaviour(), **kwargs)
        self._queue.clear()

    def script(self, *behaviours: Behaviour) -> None:
        """Answer the next requests with these behaviours, in order, then the default."""
        self._queue.extend(behaviours)

    async def wait_calls(self, n: int, within_s: float = 5.0) -> None:
        """Wait until at least ``n`` requests were received."""
        async with asyncio.timeout(within_s), self.received:
            await self.received.wait_for(lambda: self.calls >= n)

    # -- handler --------------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        self.calls += 1
        self.in_flight += 1
        async with self.received:
            self.received.notify_all()
        behaviour = self._queue.popleft() if self._queue else self.default
        try:
            return await self._answer(request, body, behaviour)
        finally:
            self.in_flight -= 1

    async def _answer(
        self, request: web.Request, body: dict[str, Any], b: Behaviour
    ) -> web.StreamResponse:
        if b.hold:
            await self.release.wait()
        if b.hang:
            await asyncio.Event().wait()
        if b.delay:
            await asyncio.sleep(b.delay)
        if b.status != 200:
            headers = {"Retry-After": str(b.retry_after)} if b.retry_after is not None else {}
            error = {"error": {"message": f"fake error {b.status}", "type": "server_error"}}
            return web.json_response(error, status=b.status, headers=headers)
        content = b.content if b.content is not None else json.dumps(b.data)
        model = body.get("model", "fake")
        if body.get("stream"):
            return await self._stream(request, model, b, content)
        return web.json_response(
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            }
        )

    async def _stream(
        self, request: web.Request, model: str, b: Behaviour, content: str
    ) -> web.StreamResponse:
        deltas = b.deltas if b.deltas is not None else content.split(" ")
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        finished = False
        try:
            for i, delta in enumerate(deltas):
                if b.cut_after is not None and i >= b.cut_after:
                    assert request.transport is not None
                    request.transport.abort()
                    finished = True
                    return resp
                if i and b.delta_delay:
                    await asyncio.sleep(b.delta_delay)
                await resp.write(_chunk(model, {"content": delta}, None))
            await resp.write(_chunk(model, {}, "stop"))
            await resp.write(b"data: [DONE]\n\n")
            finished = True
            await resp.write_eof()
            return resp
        finally:
            if not finished:
                self.stream_closed_at = time.monotonic()
                self.stream_closed.set()


def _chunk(model: str, delta: dict[str, Any], finish: str | None) -> bytes:
    payload = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(payload)}\n\n".encode()


@asynccontextmanager
async def run_fake_ai() -> AsyncIterator[FakeAI]:
    """Run a ``FakeAI`` on 127.0.0.1 (a free port) for the duration of the block.

    The runner cancels a handler when its client disconnects, so a hanging or streaming
    handler learns at once that the client went away.
    """
    fake = FakeAI()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", fake.handle)
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    fake.url = f"http://127.0.0.1:{port}/v1"
    try:
        yield fake
    finally:
        fake.release.set()
        await runner.cleanup()
