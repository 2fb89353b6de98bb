"""The AsyncAPI document: valid for the reference parser, complete, and true to what the
server really sends over SSE and the WebSocket."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import websockets
from aiohttp.test_utils import TestClient

from handlers.schemas.realtime import (
    CLIENT_MESSAGES,
    SERVER_MESSAGES,
    SSE_STREAMS,
    WS_CHANNELS,
)
from handlers.ws.protocol import COMMANDS as HANDLERS
from tests.helpers import register_user
from tests.task_helpers import create_task, watch
from tests.test_ws import recv, ws_url

ROOT = Path(__file__).resolve().parent.parent
VALIDATOR = ROOT / "tools" / "node" / "validate.mjs"
PARSER = ROOT / "tools" / "node" / "node_modules" / "@asyncapi" / "parser"


async def run_validator(document: dict[str, Any], tmp_path: Path) -> tuple[int, list[dict]]:
    if not PARSER.is_dir():
        pytest.fail("@asyncapi/parser is not installed: run `make node-tools` (make test does)")
    path = tmp_path / "asyncapi.json"
    path.write_text(json.dumps(document))
    proc = await asyncio.create_subprocess_exec(
        "node", str(VALIDATOR), str(path), stdout=asyncio.subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=60)
    return proc.returncode or 0, [json.loads(line) for line in out.decode().splitlines()]


async def test_served_document_passes_the_asyncapi_parser(
    client: TestClient[Any, Any], tmp_path: Path
) -> None:
    r = await client.get("/api/asyncapi.json")
    assert r.status == 200, await r.text()
    doc = await r.json()
    assert doc["asyncapi"].startswith("3.")
    code, diagnostics = await run_validator(doc, tmp_path)
    errors = [d for d in diagnostics if d["severity"] == 0]
    assert code == 0 and not errors, errors
    # The server this document names is the one that answered.
    assert doc["servers"]["ws"]["host"] == f"{client.host}:{client.port}"


async def test_the_validator_refuses_a_broken_document(
    client: TestClient[Any, Any], tmp_path: Path
) -> None:
    """The check has teeth: a dangling reference is reported as an error."""
    doc = await (await client.get("/api/asyncapi.json")).json()
    doc["channels"]["websocket"]["messages"]["ping"]["payload"] = {
        "$ref": "#/components/schemas/NoSuchSchema"
    }
    code, diagnostics = await run_validator(doc, tmp_path)
    assert code == 1
    assert any(d["code"] == "invalid-ref" for d in diagnostics), diagnostics


async def test_every_channel_and_message_is_documented(client: TestClient[Any, Any]) -> None:
    doc = await (await client.get("/api/asyncapi.json")).json()
    ws = doc["channels"]["websocket"]["messages"]
    names = {m["name"] for m in ws.values()}
    assert set(CLIENT_MESSAGES) == set(HANDLERS) <= names  # every type the server handles
    assert set(SERVER_MESSAGES) <= names
    routes = {r.resource.canonical for r in client.app.router.routes() if r.resource is not None}
    for key, stream in SSE_STREAMS.items():
        assert doc["channels"][key]["address"] == stream.address
        assert stream.address in routes, stream.address  # documents a route that exists
        assert set(stream.events) == {m["name"] for m in doc["channels"][key]["messages"].values()}


async def test_events_page_renders_every_channel_without_scripts(
    client: TestClient[Any, Any],
) -> None:
    r = await client.get("/api/docs/events")
    assert r.status == 200
    page = await r.text()
    assert "<script" not in page
    for stream in SSE_STREAMS.values():
        assert stream.address in page
    for name in (*CLIENT_MESSAGES, *SERVER_MESSAGES, "complete", "last_event_id", "1012"):
        assert name in page, name
    assert "default-src 'self'" in r.headers["Content-Security-Policy"]


async def test_docs_page_is_swagger_ui_served_from_this_server(
    client: TestClient[Any, Any],
) -> None:
    page = await (await client.get("/api/docs")).text()
    scripts = ["/static/vendor/swagger-ui/swagger-ui-bundle.js", "/static/docs/swagger-init.js"]
    for src in scripts:
        assert f"src='{src}'" in page
        r = await client.get(src)
        assert r.status == 200 and len(await r.read()) > 100, src
    assert "http" not in page.replace("http-equiv", "")  # nothing from another host
    r = await client.get("/static/vendor/swagger-ui/swagger-ui.css")
    assert r.status == 200


def _loads(schema: type, data: dict[str, Any]) -> None:
    errors = schema().validate(data)
    assert not errors, (schema.__name__, data, errors)


async def test_websocket_messages_match_their_documented_schemas(
    client: TestClient[Any, Any],
) -> None:
    """Every server message seen in a real session loads with the schema documented for
    its type; event payloads with the schema of their channel's event."""
    user = await register_user(client)
    seen: dict[str, int] = {}
    async with websockets.connect(ws_url(client), additional_headers=user.headers) as ws:

        async def take() -> dict[str, Any]:
            msg = await recv(ws, within=30)
            _loads(SERVER_MESSAGES[msg["type"]], msg)
            seen[msg["type"]] = seen.get(msg["type"], 0) + 1
            return msg

        await take()  # welcome
        await take()  # subscribed to recommendations
        await ws.send(json.dumps({"type": "ping", "id": "p"}))
        await take()
        await ws.send(json.dumps({"type": "subscribe", "channel": "nowhere", "id": 1}))
        await take()  # error
        await ws.send(json.dumps({"type": "subscribe", "channel": "onboarding"}))
        await take()
        await ws.send(json.dumps({"type": "unsubscribe", "channel": "onboarding"}))
        await take()
        await ws.send(json.dumps({"type": "chat", "id": "c", "message": "How do I grow?"}))
        while (await take())["type"] != "chat.done":
            pass
        task = await create_task(
            client, user.headers, "batch_role_match", {"job_descriptions": ["Python developer"]}
        )
        channel = f"tasks:{task['task_id']}"
        await ws.send(json.dumps({"type": "subscribe", "channel": channel, "last_event_id": "0"}))
        while True:
            msg = await take()
            if msg["type"] == "event":
                _loads(WS_CHANNELS["tasks:<task_id>"][msg["event"]], msg["data"])
                if msg["event"] in ("complete", "failed", "cancelled"):
                    break
    assert {"welcome", "subscribed", "unsubscribed", "pong", "error", "event"} <= set(seen)
    assert {"chat.delta", "chat.done"} <= set(seen), seen


async def test_sse_task_events_match_their_documented_schemas(
    client: TestClient[Any, Any],
) -> None:
    user = await register_user(client)
    task = await create_task(
        client, user.headers, "batch_role_match", {"job_descriptions": ["Data analyst, SQL"]}
    )
    events = await watch(client, task["task_id"], user.headers)
    documented = SSE_STREAMS["taskEvents"].events
    assert events[-1].event == "complete"
    for ev in events:
        _loads(documented[ev.event], ev.data)
