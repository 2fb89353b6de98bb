"""EventBus: publish to and replay from one Redis Stream per channel.

Stream key ``fp:ev:<channel>``; the stream entry id is the event id (SSE ``id:``, WS
``"id"``). Streams are trimmed with ``MAXLEN ~ retention`` and expire when idle.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Any

import orjson
import redis.asyncio as aioredis

from services.events.stats import EventStats

KEY_PREFIX = "fp:ev:"
_ID_RE = re.compile(r"^(\d{1,20})(?:-(\d{1,20}))?$")
ZERO = (0, 0)


class InvalidEventId(ValueError):
    """A last-event id that is not a stream id (``<ms>-<seq>``)."""


def stream_key(channel: str) -> str:
    """The Redis key holding a channel's events."""
    return KEY_PREFIX + channel


def parse_id(event_id: str) -> tuple[int, int]:
    """``"1700000000000-3"`` → ``(1700000000000, 3)``; InvalidEventId otherwise."""
    m = _ID_RE.match(event_id.strip())
    if m is None:
        raise InvalidEventId(f"not an event id: {event_id[:40]!r}")
    return int(m.group(1)), int(m.group(2) or 0)


def format_id(pos: tuple[int, int]) -> str:
    return f"{pos[0]}-{pos[1]}"


def before(pos: tuple[int, int]) -> tuple[int, int]:
    """The position just before ``pos`` (reads "after" it include ``pos``)."""
    return (pos[0], pos[1] - 1) if pos[1] else (pos[0] - 1, 2**63)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


@dataclass(slots=True)
class Event:
    """One event. ``raw`` is its data as compact JSON (one line), encoded once."""

    id: str
    channel: str
    event: str
    raw: bytes
    pos: tuple[int, int] = ZERO
    # The transports' encodings of this event (SSE frame, HTTP chunk, WebSocket frame per
    # channel name), built once by them and shared by every client: the bus knows none.
    wire: dict[Any, Any] | None = field(default=None, repr=False)

    @property
    def data(self) -> Any:
        """The decoded data."""
        return orjson.loads(self.raw)

    @classmethod
    def from_entry(cls, channel: str, entry_id: bytes | str, fields: dict[Any, Any]) -> Event:
        eid = _text(entry_id)
        name = fields.get(b"e", fields.get("e", b"message"))
        raw = fields.get(b"d", fields.get("d", b"null"))
        return cls(
            id=eid,
            channel=channel,
            event=_text(name),
            raw=raw if isinstance(raw, bytes) else raw.encode(),
            pos=parse_id(eid),
        )


@dataclass(frozen=True, slots=True)
class ReadResult:
    """A replay batch. ``reset_oldest_id`` is set when the position fell out of retention."""

    events: list[Event]
    reset_oldest_id: str | None = None


class EventBus:
    """Publishes events to Redis Streams and reads them back for replay."""

    def __init__(
        self,
        redis: aioredis.Redis,
        retention: int,
        idle_ttl_s: int,
        *,
        timeout_s: float = 2.0,
        stats: EventStats | None = None,
        max_concurrency: int = 16,
    ) -> None:
        self._redis = redis
        # Bursts (thousands of clients reconnecting) queue here instead of exhausting the
        # shared connection pool; the wait counts against each call's timeout.
        self._gate = asyncio.Semaphore(max_concurrency)
        self._retention = retention
        self._idle_ttl_s = idle_ttl_s
        self._timeout_s = timeout_s
        self.stats = stats or EventStats()

    async def publish(self, channel: str, event: str, data: Any) -> str:
        """Append an event to the channel; returns its id."""
        key = stream_key(channel)
        payload = orjson.dumps(data)
        async with asyncio.timeout(self._timeout_s), self._gate:
            pipe = self._redis.pipeline(transaction=False)
            pipe.xadd(key, {"e": event, "d": payload}, maxlen=self._retention, approximate=True)
            pipe.expire(key, self._idle_ttl_s)
            entry_id, _ = await pipe.execute()
        self.stats.published += 1
        return _text(entry_id)

    async def touch(self, key: str) -> None:
        """Append a marker to a small private stream (wakes a reader blocked on it)."""
        async with asyncio.timeout(self._timeout_s), self._gate:
            pipe = self._redis.pipeline(transaction=False)
            pipe.xadd(key, {"w": "1"}, maxlen=10, approximate=True)
            pipe.expire(key, 60)
            await pipe.execute()

    async def last_id(self, channel: str) -> tuple[int, int]:
        """The position of the channel's newest event, (0, 0) for an empty channel."""
        async with asyncio.timeout(self._timeout_s), self._gate:
            rows: Any = await self._redis.xrevrange(stream_key(channel), count=1)
        return parse_id(_text(rows[0][0])) if rows else ZERO

    async def read_range(
        self, channel: str, after: tuple[int, int], *, count: int = 500
    ) -> list[Event]:
        """Up to ``count`` events strictly after ``after``, oldest first."""
        async with asyncio.timeout(self._timeout_s), self._gate:
            rows: Any = await self._redis.xrange(
                stream_key(channel), min="(" + format_id(after), count=count
            )
        return [Event.from_entry(channel, eid, fields) for eid, fields in rows]

    async def check_retention(self, channel: str, last_id: str) -> str | None:
        """The oldest retained id when events after ``last_id`` were trimmed away, else None."""
        pos = parse_id(last_id)
        async with asyncio.timeout(self._timeout_s), self._gate:
            try:
                info = await self._redis.xinfo_stream(stream_key(channel))
            except aioredis.ResponseError:  # no such stream: expired or never written
                return None
        first = info.get("first-entry")
        if not first:
            return None
        oldest = _text(first[0])
        # Trimming does not move max-deleted-entry-id; entries-added > length says it ran.
        trimmed = int(info.get("entries-added") or 0) > int(info.get("length") or 0)
        deleted = parse_id(_text(info.get("max-deleted-entry-id") or b"0-0"))
        if pos < parse_id(oldest) and (trimmed or pos < deleted):
            return oldest
        return None

    async def read_after(self, channel: str, last_id: str, *, count: int = 500) -> ReadResult:
        """Replay: events after ``last_id`` (a batch of up to ``count``), with reset info.

        When ``last_id`` is older than the retention window, ``reset_oldest_id`` names the
        oldest retained event and the batch starts there.
        """
        oldest = await self.check_retention(channel, last_id)
        after = parse_id(last_id)
        if oldest is not None:
            after = before(parse_id(oldest))
        return ReadResult(await self.read_range(channel, after, count=count), oldest)
