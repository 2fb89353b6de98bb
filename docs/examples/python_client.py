"""FluentPro from Python: log in, a role recommendation, a task with live progress over
SSE, and the WebSocket (events, ping, the career-coach chat).

    pip install httpx httpx-sse websockets
    python python_client.py --base http://127.0.0.1:8080 --email ada@example.com
    (the password is read from FLUENTPRO_PASSWORD; at least 15 characters)

Registers the account on the first run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from typing import Any

import httpx
import websockets
from httpx_sse import aconnect_sse

FINAL = ("complete", "failed", "cancelled")


async def login(http: httpx.AsyncClient, email: str, password: str) -> str:
    """The session token (the account is created if it does not exist yet)."""
    body = {"email": email, "password": password}
    r = await http.post("/api/v1/auth/login", json=body)
    if r.status_code == 401:
        r = await http.post("/api/v1/auth/register", json=body)
    if r.is_error:  # an RFC 9457 problem: title, detail, per-field errors
        raise SystemExit(f"login failed: {r.status_code} {r.json()}")
    return str(r.json()["token"])


async def recommend(http: httpx.AsyncClient) -> None:
    r = await http.post(
        "/api/v1/recommendations/roles",
        json={"job_description": "Backend engineer: Python, PostgreSQL, Redis", "limit": 3},
    )
    r.raise_for_status()
    answer = r.json()
    for role in answer["recommendations"]:
        print(f"role: {role['title']} ({role['match_score']})")
    print("source:", answer["source"])


async def follow_task(http: httpx.AsyncClient) -> str:
    """Start a task and print its events until the final one; returns the task id."""
    params = {"job_descriptions": ["Data analyst: SQL, dashboards", "DevOps: Terraform"]}
    r = await http.post("/api/v1/tasks", json={"kind": "batch_role_match", "params": params})
    r.raise_for_status()
    task = r.json()
    async with aconnect_sse(http, "GET", task["events_url"]) as source:
        async for event in source.aiter_sse():
            if not event.data:  # the opening `retry:` block carries no event
                continue
            data = event.json()
            if event.event == "progress":
                print(f"progress {data['progress']}% {data['message']}")
            else:
                print(event.event)
            if event.event in FINAL:
                break
    return str(task["task_id"])


async def websocket(base: str, token: str, task_id: str) -> None:
    url = base.replace("http", "ws", 1) + "/ws"
    headers = {"Authorization": f"Bearer {token}"}
    async with websockets.connect(url, additional_headers=headers, open_timeout=10) as ws:

        async def receive() -> dict[str, Any]:
            return json.loads(await asyncio.wait_for(ws.recv(), timeout=30))

        print("ws:", (await receive())["type"])  # welcome
        await receive()  # subscribed to "recommendations" (automatic)
        await ws.send(json.dumps({"type": "ping", "id": 1}))
        print("ws:", (await receive())["type"])  # pong
        # Replay a finished task's events from the start ("0"), as a reconnecting client would.
        channel = f"tasks:{task_id}"
        await ws.send(json.dumps({"type": "subscribe", "channel": channel, "last_event_id": "0"}))
        while (msg := await receive())["type"] != "event" or msg["event"] not in FINAL:
            pass
        print("ws: replayed", msg["event"])
        await ws.send(json.dumps({"type": "chat", "id": "q1", "message": "What should I learn?"}))
        answer = ""
        while (msg := await receive())["type"] != "chat.done":
            if msg["type"] == "chat.delta":
                answer += msg["delta"]
            elif msg["type"] == "chat.reset":
                answer = ""
        print(f"ws: chat answered ({msg['source']}): {answer[:60]}…")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8080")
    parser.add_argument("--email", required=True)
    args = parser.parse_args()
    password = os.environ["FLUENTPRO_PASSWORD"]
    async with httpx.AsyncClient(base_url=args.base, timeout=30) as http:
        token = await login(http, args.email, password)
        http.headers["Authorization"] = f"Bearer {token}"
        print("logged in as", args.email)
        await recommend(http)
        task_id = await follow_task(http)
    await websocket(args.base, token, task_id)


if __name__ == "__main__":
    asyncio.run(main())
