"""The career-coach chat over the WebSocket: grounded, streamed, cancellable."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from aiohttp.test_utils import TestClient

from tests.conftest import AppFactory
from tests.fake_ai import Behaviour, FakeAI
from tests.helpers import Authed, register_user


async def _open_ws(client: TestClient[Any, Any], user: Authed) -> aiohttp.ClientWebSocketResponse:
    ws = await client.ws_connect("/ws", headers=user.headers)
    welcome = await ws.receive_json(timeout=5)
    assert welcome["type"] == "welcome"
    return ws


async def _chat_messages(ws: aiohttp.ClientWebSocketResponse, chat_id: str) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    async with asyncio.timeout(15):
        while True:
            msg = await ws.receive_json()
            if msg.get("id") != chat_id or not msg["type"].startswith("chat."):
                continue
            got.append(msg)
            if msg["type"] == "chat.done":
                return got


async def test_local_chat_is_grounded_in_the_profile(client: TestClient[Any, Any]) -> None:
    user = await register_user(client)
    r = await client.patch(
        "/api/v1/me",
        json={"profile": {"current_role": "Data Analyst", "skills": ["SQL", "Excel"]}},
        headers=user.headers,
    )
    assert r.status == 200, await r.text()
    ws = await _open_ws(client, user)
    await ws.send_json({"type": "chat", "id": "c1", "message": "How do I become a data scientist?"})
    msgs = await _chat_messages(ws, "c1")
    deltas = [m["delta"] for m in msgs if m["type"] == "chat.delta"]
    assert len(deltas) >= 2  # streamed in pieces, not one blob
    text = "".join(deltas)
    assert "Data Analyst" in text
    assert msgs[-1] == {"type": "chat.done", "id": "c1", "source": "local"}
    await ws.close()


async def test_ai_chat_streams_tokens_and_hides_the_email(
    make_client: AppFactory, fake_ai: FakeAI
) -> None:
    client = await make_client(ai={"base_url": fake_ai.url})
    user = await register_user(client)
    fake_ai.set(Behaviour(deltas=["Build ", "a ", "portfolio."], delta_delay=0.05))
    ws = await _open_ws(client, user)
    await ws.send_json({"type": "chat", "id": "c2", "message": "What next?"})
    msgs = await _chat_messages(ws, "c2")
    assert [m["delta"] for m in msgs if m["type"] == "chat.delta"] == ["Build ", "a ", "portfolio."]
    assert msgs[-1]["source"] == "ai"
    sent = str(fake_ai.requests[-1])
    assert user.user["email"] not in sent and user.token not in sent
    await ws.close()


async def test_cut_stream_resets_then_finishes_locally(
    make_client: AppFactory, fake_ai: FakeAI
) -> None:
    client = await make_client(ai={"base_url": fake_ai.url, "max_retries": 0})
    user = await register_user(client)
    fake_ai.set(Behaviour(deltas=["one ", "two ", "three ", "four "], cut_after=2))
    ws = await _open_ws(client, user)
    await ws.send_json({"type": "chat", "id": "c3", "message": "Help me grow"})
    msgs = await _chat_messages(ws, "c3")
    types = [m["type"] for m in msgs]
    assert "chat.reset" in types
    assert msgs[-1]["source"] == "local"
    await ws.close()


async def test_disconnect_closes_the_upstream_stream(
    make_client: AppFactory, fake_ai: FakeAI
) -> None:
    client = await make_client(ai={"base_url": fake_ai.url})
    user = await register_user(client)
    fake_ai.set(Behaviour(deltas=[f"t{i} " for i in range(200)], delta_delay=0.05))
    ws = await _open_ws(client, user)
    await ws.send_json({"type": "chat", "id": "c4", "message": "Tell me a lot"})
    async with asyncio.timeout(10):
        while (await ws.receive_json())["type"] != "chat.delta":
            pass
    await ws.close()
    loop = asyncio.get_running_loop()
    closed_at = loop.time()
    await asyncio.wait_for(fake_ai.stream_closed.wait(), timeout=3)
    assert loop.time() - closed_at < 1.0
