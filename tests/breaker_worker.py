"""A second OS process for the shared-breaker tests.

``python -m tests.breaker_worker REDIS_URL NAME FAKE_URL OPTIONS_JSON`` then JSON lines on
stdin: ``{"cmd": "state"}`` or ``{"cmd": "call", "n": K}``. Every answer is one JSON line
on stdout; a call reports ``rejected``/``allowed`` per caller as soon as it is known, and
``end`` when all its callers are done.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import aiohttp

from services.breaker.shared import CircuitOpen, RedisCircuitBreaker, make_breaker_redis


def emit(**event: Any) -> None:
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


async def one_call(breaker: RedisCircuitBreaker, session: aiohttp.ClientSession, url: str) -> bool:
    try:
        permit = await breaker.acquire()
    except CircuitOpen:
        emit(event="rejected")
        return False
    emit(event="allowed")
    async with session.post(url, json={"model": "m", "messages": []}) as resp:
        await resp.read()
        ok = resp.status == 200
    await (breaker.record_success if ok else breaker.record_failure)(permit)
    return True


async def main() -> None:
    redis_url, name, fake_url, options = sys.argv[1:5]
    redis = make_breaker_redis(redis_url)
    breaker = RedisCircuitBreaker(redis, name, **json.loads(options))
    url = fake_url + "/chat/completions"
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    async with aiohttp.ClientSession() as session:
        emit(event="ready")
        while line := await reader.readline():
            cmd = json.loads(line)
            if cmd["cmd"] == "state":
                emit(event="state", **await breaker.state())
            elif cmd["cmd"] == "call":
                results = await asyncio.gather(
                    *(one_call(breaker, session, url) for _ in range(cmd["n"]))
                )
                emit(event="end", allowed=sum(results), rejected=len(results) - sum(results))
    await redis.aclose()


if __name__ == "__main__":
    asyncio.run(main())
