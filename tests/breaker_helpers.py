"""Two-process breaker tests: the helper process (tests/breaker_worker.py) and a call
made through a breaker in this process (used by test_breaker.py and the topology tests)."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import aiohttp

from services.breaker.shared import CircuitOpen, RedisCircuitBreaker
from tests.processes import ROOT


class Worker:
    """The helper process (tests/breaker_worker.py) and its JSON-line events."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.events: list[dict[str, Any]] = []
        self.cond = asyncio.Condition()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self.proc.stdout is not None
        while line := await self.proc.stdout.readline():
            async with self.cond:
                self.events.append(json.loads(line))
                self.cond.notify_all()

    async def send(self, **cmd: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(cmd) + "\n").encode())
        await self.proc.stdin.drain()

    async def wait(self, kind: str, count: int = 1, within_s: float = 10.0) -> list[dict[str, Any]]:
        async with asyncio.timeout(within_s), self.cond:
            await self.cond.wait_for(lambda: len(self.of(kind)) >= count)
        return self.of(kind)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["event"] == kind]

    async def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        async with asyncio.timeout(10):
            await self.proc.wait()
        await self.reader


async def start_worker(redis: str, name: str, ai_url: str, options: dict[str, Any]) -> Worker:
    """The breaker ``name`` in another OS process, on the Redis at ``redis`` (a URL or a
    topology spec, as tests/breaker_worker.py takes it)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.breaker_worker",
        redis,
        name,
        ai_url,
        json.dumps(options),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    return Worker(proc)


async def guarded_call(
    breaker: RedisCircuitBreaker, session: aiohttp.ClientSession, url: str, decisions: list[str]
) -> None:
    """One provider call through ``breaker``; its decision ("allowed"/"rejected") is noted
    and the outcome recorded."""
    try:
        permit = await breaker.acquire()
    except CircuitOpen:
        decisions.append("rejected")
        return
    decisions.append("allowed")
    async with session.post(url, json={"model": "m", "messages": []}) as resp:
        ok = resp.status == 200
    await (breaker.record_success if ok else breaker.record_failure)(permit)
