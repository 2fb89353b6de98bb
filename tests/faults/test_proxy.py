"""The fault proxy itself: forwarding, latency, black hole, reset, cut, down/up."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from tests.faults.proxy import FaultProxy


async def _echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(1024):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


@pytest.fixture
async def proxy() -> AsyncIterator[FaultProxy]:
    server = await asyncio.start_server(_echo, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    p = await FaultProxy("127.0.0.1", port).start()
    yield p
    await p.close()
    server.close()
    await server.wait_closed()


async def _roundtrip(p: FaultProxy, payload: bytes = b"hello") -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", p.port)
    try:
        writer.write(payload)
        await writer.drain()
        return await reader.readexactly(len(payload))
    finally:
        writer.close()


async def test_forwards_and_adds_latency(proxy: FaultProxy) -> None:
    assert await _roundtrip(proxy) == b"hello"
    proxy.latency = 0.2
    started = time.monotonic()
    assert await _roundtrip(proxy) == b"hello"
    assert time.monotonic() - started >= 0.4  # 0.2 s each way


async def test_blackhole_then_heal(proxy: FaultProxy) -> None:
    proxy.blackhole()
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)  # accepted
    writer.write(b"ping")
    await writer.drain()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.3):
            await reader.readexactly(4)
    proxy.heal()
    async with asyncio.timeout(2):
        assert await reader.readexactly(4) == b"ping"
    writer.close()


async def test_reset_cut_and_down_up(proxy: FaultProxy) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"x")
    await reader.readexactly(1)
    proxy.reset_all()
    with pytest.raises((ConnectionError, asyncio.IncompleteReadError)):
        async with asyncio.timeout(2):
            await reader.readexactly(1)
    writer.close()

    proxy.cut_after = 3
    reader, writer = await asyncio.open_connection("127.0.0.1", proxy.port)
    writer.write(b"abcdef")
    async with asyncio.timeout(2):
        got = await reader.read(100)
        assert got == b"abc"
        assert await reader.read(100) == b""
    writer.close()
    proxy.heal()

    await proxy.down()
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", proxy.port)
    await proxy.up()
    assert await _roundtrip(proxy) == b"hello"
