"""A small fault-injecting TCP proxy for tests (asyncio, loopback only).

Put it between the app and Redis, PostgreSQL or the fake AI server, point the app's config
at ``proxy.port``, then change its behaviour while traffic flows:

- ``proxy.latency = 2.0``           add a delay before every forwarded chunk (both ways)
- ``proxy.blackhole()``             accept and keep connections, forward nothing, either way
- ``proxy.reset_all()``             abort every open connection (the peer sees ECONNRESET)
- ``proxy.cut_after = 100``         close each new connection after N bytes from upstream
- ``await proxy.down()``            stop listening (connect → ECONNREFUSED) and reset all
- ``await proxy.up()``              listen again on the same port
- ``proxy.heal()``                  back to a transparent proxy (no latency, no black hole)

``proxy.active`` is the number of open client connections; ``proxy.accepted`` counts them.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

CHUNK = 65536


class FaultProxy:
    """Forward ``127.0.0.1:<port>`` to ``target_host:target_port`` with injectable faults."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target_host = target_host
        self.target_port = target_port
        self.port = 0
        self.latency = 0.0
        self.cut_after: int | None = None
        self._blackhole = asyncio.Event()  # set while black-holed
        self._unblock = asyncio.Event()  # set while forwarding
        self._unblock.set()
        self._server: asyncio.Server | None = None
        self._conns: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self.accepted = 0

    # -- life cycle -------------------------------------------------------------------------
    async def start(self) -> FaultProxy:
        self._server = await asyncio.start_server(
            self._handle, "127.0.0.1", self.port, reuse_address=True
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        await self.down()
        for task in list(self._conns):
            task.cancel()
        if self._conns:
            await asyncio.gather(*self._conns, return_exceptions=True)

    # -- faults -----------------------------------------------------------------------------
    @property
    def active(self) -> int:
        return len(self._conns)

    @property
    def is_blackholed(self) -> bool:
        return self._blackhole.is_set()

    def blackhole(self) -> None:
        """Keep accepting, forward nothing (both new and open connections stall)."""
        self._blackhole.set()
        self._unblock.clear()

    def heal(self) -> None:
        """A transparent proxy again (open connections resume where they stalled)."""
        self.latency = 0.0
        self.cut_after = None
        self._blackhole.clear()
        self._unblock.set()

    def reset_all(self) -> None:
        """Abort every open connection with RST."""
        for writer in list(self._writers):
            sock = writer.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                    )
            writer.transport.abort()

    async def down(self) -> None:
        """Refuse new connections and reset the open ones."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        self.reset_all()

    async def up(self) -> None:
        """Listen again on the same port."""
        if self._server is None:
            await self.start()

    # -- forwarding -------------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        self._writers.add(writer)
        self.accepted += 1
        up_writer: asyncio.StreamWriter | None = None
        try:
            await self._unblock.wait()  # black hole: accept, then never connect upstream
            up_reader, up_writer = await asyncio.open_connection(self.target_host, self.target_port)
            self._writers.add(up_writer)
            budget = [self.cut_after]
            await asyncio.gather(
                self._pump(reader, up_writer, None),
                self._pump(up_reader, writer, budget),
            )
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            for w in (writer, up_writer):
                if w is not None:
                    self._writers.discard(w)
                    w.transport.abort()
            self._conns.discard(task)

    async def _pump(
        self,
        src: asyncio.StreamReader,
        dst: asyncio.StreamWriter,
        budget: list[int | None] | None,
    ) -> None:
        try:
            while True:
                data = await src.read(CHUNK)
                if not data:
                    break
                if self.latency:
                    await asyncio.sleep(self.latency)  # the injected fault itself
                await self._unblock.wait()
                if budget is not None and budget[0] is not None:
                    if len(data) >= budget[0]:
                        dst.write(data[: budget[0]])
                        await dst.drain()
                        break
                    budget[0] -= len(data)
                dst.write(data)
                await dst.drain()
        except OSError:
            pass
        finally:
            dst.transport.abort()


@contextlib.asynccontextmanager
async def fault_proxy(target_url: str) -> AsyncIterator[FaultProxy]:
    """A started proxy in front of the host:port of ``target_url``."""
    parts = urlsplit(target_url)
    proxy = FaultProxy(parts.hostname or "127.0.0.1", parts.port or _default_port(parts.scheme))
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.close()


def _default_port(scheme: str) -> int:
    return {"redis": 6379, "postgresql": 5432, "postgres": 5432, "http": 80}.get(scheme, 80)


def via_proxy(url: str, proxy: FaultProxy) -> str:
    """``url`` with its host:port replaced by the proxy's (user, path and query kept)."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = (userinfo + "@" if userinfo else "") + f"127.0.0.1:{proxy.port}"
    return urlunsplit(parts._replace(netloc=netloc))
