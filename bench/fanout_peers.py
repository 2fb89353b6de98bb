"""Reference servers for bench_fanout.py, each run in its own process.

``echo``: a bare aiohttp WebSocket echo server. ``sse``: a minimal FastAPI + sse-starlette
server doing the same Redis Stream fan-out idiomatically (one reader, a queue per client).
``ws``: a bare aiohttp WebSocket fan-out (one reader, ``send_str`` to every socket) with
FluentPro's socket settings (heartbeat, no compression): the floor of what aiohttp itself
holds per WebSocket, for the memory figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
from collections.abc import AsyncIterator
from typing import Any


def echo(port: int) -> None:
    from aiohttp import web

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            await ws.send_str(msg.data)
        return ws

    app = web.Application()
    app.router.add_get("/echo", handler)
    app.router.add_get("/health", lambda r: web.Response(text="ok"))  # type: ignore[arg-type,return-value]
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


async def stream_entries(redis_url: str, key: str) -> AsyncIterator[tuple[bytes, bytes]]:
    """``(id, data)`` of each new entry of the stream ``key``, forever (one reader)."""
    import redis.asyncio as aioredis

    client = aioredis.Redis.from_url(redis_url, socket_timeout=10)
    last: bytes | str = "$"
    while True:
        reply = await client.xread({key: last}, block=1000, count=500)
        for _key, entries in reply or []:
            for eid, fields in entries:
                last = eid
                yield eid, fields[b"d"]


def ws_fanout(port: int, redis_url: str, key: str) -> None:
    from aiohttp import web

    sockets: set[web.WebSocketResponse] = set()

    async def reader(app: web.Application) -> AsyncIterator[None]:
        async def run() -> None:
            async for _eid, data in stream_entries(redis_url, key):
                text = f'{{"type":"event","channel":"bench","data":{data.decode()}}}'
                for ws in list(sockets):
                    with contextlib.suppress(ConnectionResetError):
                        await ws.send_str(text)

        task = asyncio.create_task(run())
        yield
        task.cancel()

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=30, compress=False)
        await ws.prepare(request)
        await ws.send_str('{"type":"subscribed","channel":"bench"}')
        sockets.add(ws)
        try:
            async for _msg in ws:
                pass
        finally:
            sockets.discard(ws)
        return ws

    app = web.Application()
    app.cleanup_ctx.append(reader)
    app.router.add_get("/ws", handler)
    app.router.add_get("/health", lambda r: web.Response(text="ok"))  # type: ignore[arg-type,return-value]
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def sse(port: int, redis_url: str, key: str) -> None:
    import uvicorn
    from fastapi import FastAPI
    from sse_starlette.sse import EventSourceResponse

    queues: set[asyncio.Queue[Any]] = set()

    async def reader() -> None:
        async for eid, data in stream_entries(redis_url, key):
            item = {"id": eid.decode(), "event": "bench", "data": data.decode()}
            for q in list(queues):
                with contextlib.suppress(asyncio.QueueFull):
                    q.put_nowait(item)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(reader())
        yield
        task.cancel()

    app = FastAPI(lifespan=lifespan)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/stream")
    async def stream() -> EventSourceResponse:
        q: asyncio.Queue[Any] = asyncio.Queue(maxsize=256)
        queues.add(q)

        async def gen() -> AsyncIterator[dict[str, Any]]:
            try:
                while True:
                    yield await q.get()
            finally:
                queues.discard(q)

        return EventSourceResponse(gen(), ping=15)

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("kind", choices=("echo", "sse", "ws"))
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--redis")
    p.add_argument("--key", default="bench:peer")
    args = p.parse_args()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.kind == "echo":
        echo(args.port)
    elif args.kind == "ws":
        ws_fanout(args.port, args.redis, args.key)
    else:
        sse(args.port, args.redis, args.key)


if __name__ == "__main__":
    main()
