"""Finding 8 (2026-12-07): WebSocket input that raised after the upgrade (a raw 500 on the
socket, a logged traceback) and REST bodies with NaN or a 27-digit integer (500)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
import websockets
from aiohttp.test_utils import TestClient

from tests.helpers import register_user
from tests.test_ws import closed_code, connect, recv, ws_url


async def test_non_object_first_message_is_refused_cleanly(
    client: TestClient[Any, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    for first in ("[1,2]", "7", '"auth"', "null"):
        async with websockets.connect(ws_url(client)) as ws:
            await ws.send(first)
            assert await closed_code(ws) == 1008, first
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


async def test_bad_messages_get_error_replies_and_the_socket_stays_open(
    client: TestClient[Any, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    who = await register_user(client)
    async with connect(client, who) as ws:
        nul_payload = {"type": "search", "payload": {"q": "a\u0000b"}}
        cases = [
            json.dumps({"type": "interaction", "id": 1, "event": nul_payload}),
            '{"type": "interaction", "id": 2, "event": {"type": "rate", "value": NaN}}',
            '{"type": "subscribe", "channel": "x\\u0000"}',
        ]
        for text in cases:
            await ws.send(text)
            reply = await recv(ws)
            assert reply["type"] == "error", (text, reply)
            assert reply["code"] in ("invalid_fields", "bad_json"), (text, reply)
        await ws.send(json.dumps({"type": "ping", "id": "still-open"}))
        assert (await recv(ws))["type"] == "pong"
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"


async def test_rest_refuses_nan_and_huge_integers(client: TestClient[Any, Any]) -> None:
    who = await register_user(client)
    headers = {**who.headers, "Content-Type": "application/json"}
    url = "/api/v1/recommendations/roles"
    r = await client.post(
        url, data='{"job_description": "Python data work", "context": {"x": NaN}}', headers=headers
    )
    assert r.status == 400, await r.text()
    huge = '{"job_description": "Python data", "context": {"x": 123456789012345678901234567}}'
    r = await client.post(url, data=huge, headers=headers)
    assert r.status == 422, await r.text()
    assert (await r.json())["errors"]
