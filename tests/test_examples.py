"""The documented examples (docs/examples/) run as written against a live server on a
real port: the curl script and the Python client, each as its own process."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from server.app import create_app
from server.config import Config
from tests.processes import free_port

EXAMPLES = Path(__file__).resolve().parent.parent / "docs" / "examples"
PASSWORD = "Quiet-Lantern-Orchard-2031"


@pytest.fixture
async def live_url(config: Config) -> AsyncIterator[str]:
    port = free_port()
    runner = web.AppRunner(create_app(config), handle_signals=False, shutdown_timeout=2)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def run(args: list[str], env: dict[str, str], within_s: float = 90) -> list[str]:
    proc = await asyncio.create_subprocess_exec(
        *args,
        env={**os.environ, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    async with asyncio.timeout(within_s):
        out, err = await proc.communicate()
    assert proc.returncode == 0, (out.decode()[-2000:], err.decode()[-2000:])
    return out.decode().splitlines()


def email() -> str:
    return f"example-{uuid.uuid4().hex[:10]}@example.com"


async def test_curl_example(live_url: str) -> None:
    env = {"BASE": live_url, "EMAIL": email(), "PASSWORD": PASSWORD}
    lines = await run(["bash", str(EXAMPLES / "curl.sh")], env)
    assert lines[0] == f"logged in as {env['EMAIL']}"
    assert any(line.startswith("role: ") for line in lines), lines
    assert "source: local" in lines
    # The task's events: progress while it runs, then the final one. A warm server can
    # finish the task before the stream opens; the stream then carries the final event
    # alone (the task endpoints' contract), so progress is not required here.
    queued = next(i for i, line in enumerate(lines) if line.endswith(" queued"))
    events = lines[queued + 1 :]
    assert events and events[-1] == "complete", lines
    assert set(events[:-1]) <= {"progress"}, lines
    # The second run logs in to the account the first one registered.
    again = await run(["bash", str(EXAMPLES / "curl.sh")], env)
    assert again[0] == lines[0] and again[-1] == "complete"


async def test_python_example(live_url: str) -> None:
    address = email()
    lines = await run(
        [
            sys.executable,
            str(EXAMPLES / "python_client.py"),
            "--base",
            live_url,
            "--email",
            address,
        ],
        {"FLUENTPRO_PASSWORD": PASSWORD},
    )
    assert lines[0] == f"logged in as {address}"
    assert any(line.startswith("role: ") for line in lines), lines
    assert any(line.startswith("progress 100%") for line in lines), lines
    assert "complete" in lines
    assert lines[-4:-1] == ["ws: welcome", "ws: pong", "ws: replayed complete"], lines
    assert lines[-1].startswith("ws: chat answered (local): ")
