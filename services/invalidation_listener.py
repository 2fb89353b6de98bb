"""A Redis pub/sub subscriber that applies invalidations *inside* ``data_received``.

Why not redis-py's PubSub: its messages reach us a few loop iterations after their bytes
arrived. Here the message is parsed and applied in the protocol callback itself, and the
event loop runs every ready socket's callback before any task step. So when a revocation and
the next request of the revoked token are both waiting to be read (the usual case: Redis
writes the message to every subscriber before ``PUBLISH`` returns, and logout answers only
after that), the revocation wins, and the in-process session cache never serves it.

The listener also pings Redis every ``ping_interval_s``; :meth:`fresh` is False when nothing
has been heard for ``stale_after_s``, while disconnected, or before the subscription is
confirmed — callers must not trust what the listener guards then.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote, urlsplit

from redis.exceptions import RedisError

log = logging.getLogger(__name__)

MessageHandler = Callable[[bytes, bytes], None]
UrlResolver = Callable[[], Awaitable[str]]


class RespError(Exception):
    """A ``-ERR`` reply from Redis."""


def parse_resp(buf: bytearray) -> tuple[list[Any], int]:
    """Every complete RESP2 value at the start of *buf*, and how many bytes they used."""
    values: list[Any] = []
    pos = 0
    while True:
        parsed = _parse_one(buf, pos)
        if parsed is None:
            return values, pos
        value, pos = parsed
        values.append(value)


def _parse_one(buf: bytearray, pos: int) -> tuple[Any, int] | None:
    end = buf.find(b"\r\n", pos)
    if end < 0:
        return None
    kind, line = buf[pos : pos + 1], bytes(buf[pos + 1 : end])
    pos = end + 2
    if kind == b"+":
        return line, pos
    if kind == b"-":
        return RespError(line.decode("utf-8", "replace")), pos
    if kind == b":":
        return int(line), pos
    if kind == b"$":
        size = int(line)
        if size < 0:
            return None, pos
        if len(buf) < pos + size + 2:
            return None
        return bytes(buf[pos : pos + size]), pos + size + 2
    if kind == b"*":
        count = int(line)
        items: list[Any] = []
        for _ in range(max(count, 0)):
            parsed = _parse_one(buf, pos)
            if parsed is None:
                return None
            item, pos = parsed
            items.append(item)
        return items, pos
    raise ValueError(f"unexpected RESP type {kind!r}")


def _command(*parts: str | bytes) -> bytes:
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        data = part.encode() if isinstance(part, str) else part
        out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class _Protocol(asyncio.Protocol):
    def __init__(self, listener: InvalidationListener) -> None:
        self._listener = listener
        self._buf = bytearray()
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def data_received(self, data: bytes) -> None:
        self._buf += data
        try:
            values, used = parse_resp(self._buf)
        except ValueError:
            log.warning("invalidation listener: unreadable data from Redis; reconnecting")
            self._listener.abort()
            return
        del self._buf[:used]
        for value in values:
            self._listener.on_value(value)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)


class InvalidationListener:
    """Subscribes to *channels* and calls ``on_message(channel, data)`` synchronously."""

    def __init__(
        self,
        redis_url: str | UrlResolver,
        channels: list[str],
        on_message: MessageHandler,
        *,
        on_reset: Callable[[], None] = lambda: None,
        ping_interval_s: float = 0.5,
        stale_after_s: float = 1.5,
        connect_timeout_s: float = 2.0,
    ) -> None:
        # A resolver is asked again on every reconnect: after a Sentinel failover it
        # names the promoted master; on a cluster, another node than the one that died.
        self._resolve = redis_url if callable(redis_url) else None
        self._url = "" if callable(redis_url) else redis_url
        self._channels = channels
        self._on_message = on_message
        self._on_reset = on_reset
        self._ping_interval_s = ping_interval_s
        self._stale_after_s = stale_after_s
        self._connect_timeout_s = connect_timeout_s
        self._transport: asyncio.Transport | None = None
        self._pending_confirmations = 0
        self._subscribed = False
        self._last_heard = 0.0
        self._task: asyncio.Task[None] | None = None

    def fresh(self) -> bool:
        """Subscribed, and Redis answered within ``stale_after_s``."""
        return self._subscribed and time.monotonic() - self._last_heard < self._stale_after_s

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="invalidation-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.abort()

    def abort(self) -> None:
        self._subscribed = False
        if self._transport is not None:
            self._transport.abort()

    def on_value(self, value: Any) -> None:
        self._last_heard = time.monotonic()
        if isinstance(value, RespError):
            log.warning("invalidation listener: Redis refused a command (%s)", value)
            self.abort()
            return
        if not isinstance(value, list) or not value:
            return  # +OK of AUTH
        kind = value[0]
        if kind == b"message" and len(value) == 3:
            try:
                self._on_message(value[1], value[2])
            except Exception:
                log.exception("invalidation handler failed; emptying what it guards")
                self._on_reset()
        elif kind == b"subscribe":
            self._pending_confirmations -= 1
            if self._pending_confirmations == 0:
                # Anything may have happened while we were away: start from empty.
                self._on_reset()
                self._subscribed = True

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            try:
                await self._session()
                backoff = 0.1
            except (OSError, TimeoutError, ValueError, RedisError) as exc:
                log.warning(
                    "invalidation listener: Redis unreachable (%s); retrying",
                    exc.__class__.__name__,
                )
            self._subscribed = False
            self._on_reset()
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, 2.0)

    async def _session(self) -> None:
        loop = asyncio.get_running_loop()
        protocol = _Protocol(self)
        async with asyncio.timeout(self._connect_timeout_s):
            if self._resolve is not None:
                self._url = await self._resolve()
            transport, _ = await self._connect(loop, lambda: protocol)
        self._transport = transport
        try:
            transport.write(self._handshake())
            while not protocol.lost.done():
                await asyncio.wait({protocol.lost}, timeout=self._ping_interval_s)
                if protocol.lost.done():
                    break
                if time.monotonic() - self._last_heard > self._stale_after_s:
                    # Also covers a subscription never confirmed: Redis is silent.
                    log.warning("invalidation listener: Redis went quiet; reconnecting")
                    break
                transport.write(_command("PING"))
        finally:
            self._subscribed = False
            transport.abort()
            self._transport = None

    def _handshake(self) -> bytes:
        parts = urlsplit(self._url)
        out = b""
        if parts.password:
            user = unquote(parts.username) if parts.username else None
            password = unquote(parts.password)
            out += _command("AUTH", user, password) if user else _command("AUTH", password)
        self._pending_confirmations = len(self._channels)
        self._last_heard = time.monotonic()
        return out + _command("SUBSCRIBE", *self._channels)

    async def _connect(
        self, loop: asyncio.AbstractEventLoop, factory: Callable[[], _Protocol]
    ) -> tuple[Any, Any]:
        parts = urlsplit(self._url)
        if parts.scheme == "unix":
            return await loop.create_unix_connection(factory, parts.path)
        tls = ssl.create_default_context() if parts.scheme == "rediss" else None
        return await loop.create_connection(
            factory, parts.hostname or "127.0.0.1", parts.port or 6379, ssl=tls
        )
