"""Bare baseline servers measured in the same run as the app.

python -m bench.baselines hello --port 9001
python -m bench.baselines redis --port 9002 --redis-url redis://127.0.0.1:6379/12
python -m bench.baselines pg    --port 9003 --database-url postgresql://...
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator

import aiopg
import orjson
import redis.asyncio as aioredis
from aiohttp import web

REDIS_KEY = web.AppKey("redis", aioredis.Redis)
POOL_KEY = web.AppKey("pool", aiopg.Pool)
BENCH_TABLE = "bench_kv"


async def hello(request: web.Request) -> web.Response:
    return web.Response(body=orjson.dumps({"hello": "world"}), content_type="application/json")


async def redis_get(request: web.Request) -> web.Response:
    value = await request.app[REDIS_KEY].get("bench:key")
    return web.Response(
        body=orjson.dumps({"value": value.decode() if value else None}),
        content_type="application/json",
    )


async def pg_lookup(request: web.Request) -> web.Response:
    async with request.app[POOL_KEY].acquire() as conn:
        async with conn.cursor() as cur:
            await cur.execute("SELECT id, value FROM bench_kv WHERE id = %s", (42,))
            row = await cur.fetchone()
    return web.Response(
        body=orjson.dumps({"id": row[0], "value": row[1]}), content_type="application/json"
    )


def build(kind: str, args: argparse.Namespace) -> web.Application:
    app = web.Application()
    if kind == "hello":
        app.router.add_get("/", hello)
    elif kind == "redis":

        async def redis_ctx(app: web.Application) -> AsyncIterator[None]:
            client = aioredis.Redis.from_url(args.redis_url, socket_timeout=2)
            await client.set("bench:key", "x" * 64)
            app[REDIS_KEY] = client
            yield
            await client.aclose()

        app.cleanup_ctx.append(redis_ctx)
        app.router.add_get("/", redis_get)
    elif kind == "pg":

        async def pg_ctx(app: web.Application) -> AsyncIterator[None]:
            pool = await aiopg.create_pool(args.database_url, minsize=10, maxsize=10, timeout=10)
            async with pool.acquire() as conn:
                async with conn.cursor() as cur:
                    await cur.execute(
                        "CREATE TABLE IF NOT EXISTS bench_kv (id int PRIMARY KEY, value text)"
                    )
                    await cur.execute(
                        "INSERT INTO bench_kv SELECT g, md5(g::text) "
                        "FROM generate_series(1, 1000) g ON CONFLICT DO NOTHING"
                    )
            app[POOL_KEY] = pool
            yield
            pool.close()
            await pool.wait_closed()

        app.cleanup_ctx.append(pg_ctx)
        app.router.add_get("/", pg_lookup)
    return app


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("kind", choices=["hello", "redis", "pg"])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    p.add_argument("--database-url", default="")
    p.add_argument(
        "--uvloop",
        action="store_true",
        help="run on uvloop, as the app does (the baselines' default is asyncio's own loop)",
    )
    args = p.parse_args()
    loop_factory = None
    if args.uvloop:
        import uvloop

        loop_factory = uvloop.new_event_loop
    web.run_app(
        build(args.kind, args),
        host="127.0.0.1",
        port=args.port,
        print=None,
        access_log=None,
        loop=loop_factory() if loop_factory else None,
    )


if __name__ == "__main__":
    main()
