"""LiveLink: the process's one Redis connection for live reads.

It holds one ``SSUBSCRIBE`` per channel that has local subscribers (sent when the first
one arrives, ``SUNSUBSCRIBE`` after the last leaves) and the plain ``SUBSCRIBE`` to the
revocation broadcast. Redis pushes only the events of those channels, so the cost of an
event is O(1) in the one process that serves its channel and zero everywhere else.

When the connection drops, the link opens a new one, subscribes every wanted channel
again and tells its owner (``on_resubscribe``) *before* sending those subscriptions, so
the owner can buffer live messages and fill the gap from history in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from services.events.wire import channel_of, stream_key

log = logging.getLogger(__name__)

LINK_ERRORS = (RedisError, OSError, TimeoutError)
# Messages taken off the socket in one go before they are handed over (a burst is then
# fanned out per channel in batches: one write per caught-up subscriber).
READ_BURST = 256

OnMessages = Callable[[list[tuple[str, bytes]]], Awaitable[None]]
OnBroadcast = Callable[[bytes], None]
OnResubscribe = Callable[[list[str]], None]


class LinkDown(ConnectionError):
    """The live connection was lost or went silent."""


class LiveLink:
    """One pub/sub connection: shard channels for events, one broadcast channel."""

    def __init__(
        self,
        redis: aioredis.Redis,
        *,
        broadcast: str,
        on_messages: OnMessages,
        on_broadcast: OnBroadcast,
        on_resubscribe: OnResubscribe,
        poll_s: float = 1.0,
        timeout_s: float = 5.0,
    ) -> None:
        self._redis = redis
        self._broadcast = broadcast
        self._on_messages = on_messages
        self._on_broadcast = on_broadcast
        self._on_resubscribe = on_resubscribe
        self._poll_s = poll_s
        self._timeout_s = timeout_s
        # A connection that says nothing for this long (our PINGs included) is dead.
        self._silent_s = max(3 * poll_s, 3.0)
        self.wanted: set[str] = set()
        # Per channel, one entry per (S|SUN)SUBSCRIBE not yet confirmed, in the order sent:
        # the waiters of an SSUBSCRIBE, or None for an SUNSUBSCRIBE. Redis confirms in
        # order, so each confirmation settles the oldest entry.
        self._inflight: dict[str, deque[list[asyncio.Future[None]] | None]] = {}
        self._outbox: deque[tuple[str, str]] = deque()
        self._outbox_ready = asyncio.Event()
        self._pubsub: Any = None
        self._kicked: Any = None  # a connection the sender found broken
        self._connected = asyncio.Event()
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self.connects = 0

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        """Start the reader and the sender (owned; stopped by ``stop``)."""
        self._tasks = [
            asyncio.create_task(self._read_loop(), name="live-link-reader"),
            asyncio.create_task(self._send_loop(), name="live-link-sender"),
        ]

    async def stop(self) -> None:
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=5)
        self._tasks = []
        await self._close()
        for waiters in self._inflight.values():
            for batch in waiters:
                for fut in batch or ():
                    if not fut.done():
                        fut.cancel()
        self._inflight.clear()

    # -- subscriptions ---------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """The connection is open and its subscriptions have been sent."""
        return self._connected.is_set()

    def is_live(self, channel: str) -> bool:
        """Subscribed and confirmed on the current connection."""
        return channel in self.wanted and not self._inflight.get(channel)

    async def subscribe(self, channel: str) -> None:
        """Make sure the channel's live messages reach this process; returns once Redis
        confirmed it (every event published after that arrives). TimeoutError if not."""
        if self.is_live(channel):
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        queue = self._inflight.setdefault(channel, deque())
        if channel in self.wanted and queue and queue[-1] is not None:
            queue[-1].append(fut)  # an SSUBSCRIBE is on its way: wait for it too
        else:
            self.wanted.add(channel)
            queue.append([fut])
            self._send("SSUBSCRIBE", channel)
        async with asyncio.timeout(self._timeout_s):
            await asyncio.shield(fut)

    def unsubscribe(self, channel: str) -> None:
        """Stop the channel's live messages (no wait: the SUNSUBSCRIBE goes out next)."""
        if channel not in self.wanted:
            return
        self.wanted.discard(channel)
        self._inflight.setdefault(channel, deque()).append(None)
        self._send("SUNSUBSCRIBE", channel)

    def _send(self, command: str, channel: str) -> None:
        if self._connected.is_set():
            self._outbox.append((command, channel))
            self._outbox_ready.set()
        # Not connected: the next connection subscribes everything in ``wanted``.

    def _confirmed(self, kind: bytes, name: bytes) -> None:
        channel = channel_of(name)
        queue = self._inflight.get(channel)
        if not queue:
            return
        waiters = queue.popleft()
        if not queue:
            del self._inflight[channel]
        if kind == b"ssubscribe" and waiters:
            for fut in waiters:
                if not fut.done():
                    fut.set_result(None)

    # -- the connection --------------------------------------------------------------

    async def _connect(self) -> None:
        pubsub = self._redis.pubsub()
        self._pubsub = pubsub
        async with asyncio.timeout(self._timeout_s):
            # A registered channel makes redis-py treat the connection as subscribed:
            # no health-check PING of its own would read our messages off the socket.
            await pubsub.subscribe(self._broadcast)
        channels = sorted(self.wanted)
        # Commands of the old connection are void: one SSUBSCRIBE per wanted channel now,
        # its waiters (if any) carried over; channels no longer wanted are simply absent.
        carried: dict[str, list[asyncio.Future[None]]] = {}
        for channel, queue in self._inflight.items():
            if channel in self.wanted:
                carried[channel] = [f for batch in queue for f in batch or ()]
        self._inflight = {ch: deque([carried.get(ch, [])]) for ch in channels}
        self._outbox.clear()
        self.connects += 1
        if self.connects > 1:
            self._on_resubscribe(channels)  # before the SSUBSCRIBEs: the owner buffers
        self._outbox.extend(("SSUBSCRIBE", ch) for ch in channels)
        self._connected.set()
        self._outbox_ready.set()

    async def _close(self) -> None:
        self._connected.clear()
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            with contextlib.suppress(*LINK_ERRORS):
                async with asyncio.timeout(1):
                    await pubsub.aclose()

    async def _read_loop(self) -> None:
        backoff = 0.05
        while not self._stopping:
            try:
                await self._connect()
                backoff = 0.05
                await self._read(self._pubsub)
            except Exception as exc:
                if self._stopping:
                    return
                if isinstance(exc, LINK_ERRORS):
                    log.warning("live link lost (%s); reconnecting", exc.__class__.__name__)
                else:  # a bug must not end live delivery for good: log it, start over
                    log.exception("live link failed; reconnecting")
                await self._close()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)

    async def _read(self, pubsub: Any) -> None:
        loop = asyncio.get_running_loop()
        last_seen = loop.time()
        pinged_at: float | None = None
        while not self._stopping:
            if pubsub is self._kicked:
                raise LinkDown("the sender found the connection broken")
            first = await pubsub.parse_response(block=False, timeout=self._poll_s)
            now = loop.time()
            if first is None:
                # Quiet for a poll period: PING, and give up on a connection that does
                # not answer in time (a peer gone without a reset never errors a read).
                if pinged_at is None:
                    if now - last_seen >= self._poll_s:
                        pinged_at = now
                        async with asyncio.timeout(self._timeout_s):
                            await pubsub.execute_command("PING")
                elif now - pinged_at > self._silent_s:
                    raise LinkDown("no answer to PING")
                continue
            last_seen, pinged_at = now, None
            batch = [first]
            while len(batch) < READ_BURST:
                more = await pubsub.parse_response(block=False, timeout=0)
                if more is None:
                    break
                batch.append(more)
            await self._handle(batch)

    async def _handle(self, batch: list[Any]) -> None:
        events: list[tuple[str, bytes]] = []
        for response in batch:
            if not isinstance(response, list) or len(response) < 2:
                continue  # a PONG
            kind = response[0]
            if kind == b"smessage":
                events.append((channel_of(response[1]), response[2]))
            elif kind == b"message":
                self._on_broadcast(response[2])
            elif kind in (b"ssubscribe", b"sunsubscribe"):
                self._confirmed(kind, response[1])
        if events:
            try:
                await self._on_messages(events)
            except LINK_ERRORS:
                raise
            except Exception:  # one bad fan-out must not stop the reader
                log.exception("live messages could not be handed over")

    async def _send_loop(self) -> None:
        while not self._stopping:
            await self._outbox_ready.wait()
            self._outbox_ready.clear()
            await self._connected.wait()
            pubsub = self._pubsub
            while self._outbox and pubsub is not None and pubsub is not self._kicked:
                command, channel = self._outbox.popleft()
                try:
                    async with asyncio.timeout(self._timeout_s):
                        await pubsub.execute_command(command, stream_key(channel))
                except LINK_ERRORS as exc:
                    log.warning("live link send failed (%s)", exc.__class__.__name__)
                    # redis-py may have reconnected that socket behind our back, without
                    # our shard subscriptions: drop it so the reader starts over cleanly.
                    self._kicked = pubsub
                    with contextlib.suppress(*LINK_ERRORS):
                        await pubsub.connection.disconnect()
                    break
