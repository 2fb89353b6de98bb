"""EventBus: publish (history + live, atomically) and replay from one stream per channel.

Stream key ``fp:ev:<channel>``; the stream entry id is the event id (SSE ``id:``, WS
``"id"``). Streams are trimmed with ``MAXLEN ~ retention`` and expire when idle. Each
publish also announces the event on the channel's shard channel (see ``wire``), which is
what the hubs read live; the streams serve history only.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from typing import Any

import orjson
import redis.asyncio as aioredis

from services.events.stats import EventStats
from services.events.wire import EPOCH_FIELD, KEY_PREFIX, PUBLISH_LUA, new_epoch, stream_key

__all__ = ["KEY_PREFIX", "Event", "EventBus", "InvalidEventId", "ReadResult", "stream_key"]
_ID_RE = re.compile(r"^(\d{1,20})(?:-(\d{1,20}))?$")
ZERO = (0, 0)


class InvalidEventId(ValueError):
    """A last-event id that is not a stream id (``<ms>-<seq>``)."""


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
    if pos == ZERO:
        return ZERO
    return (pos[0], pos[1] - 1) if pos[1] else (pos[0] - 1, 2**64 - 1)


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


@dataclass(frozen=True, slots=True)
class Resync:
    """History after a reader's cursor, read back after its live link was down.

    ``known`` is False when the cursor's entry is gone from the stream (trimmed past, or
    the stream was lost and re-created) or belongs to another epoch: the events in
    between cannot be told, so the reader's subscribers must be reset, not fed a gap.
    """

    known: bool
    epoch: bytes | None
    events: list[Event]


class EventBus:
    """Publishes events (stream + live announcement) and reads them back for replay."""

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
        self._publish_script = redis.register_script(PUBLISH_LUA)
        self.stats = stats or EventStats()

    async def publish(self, channel: str, event: str, data: Any) -> str:
        """Append an event to the channel's history and announce it live; returns its id.

        One script (EVALSHA; redis-py falls back to EVAL after a restart emptied the
        script cache) does both, so a reader sees an event live only if history has it.
        """
        if "\n" in event:
            raise ValueError("an event name cannot contain a newline")
        payload = orjson.dumps(data)
        args = (event, payload, self._retention, self._idle_ttl_s, new_epoch())
        async with asyncio.timeout(self._timeout_s), self._gate:
            entry_id = await self._publish_script(keys=[stream_key(channel)], args=args)
        self.stats.published += 1
        return _text(entry_id)

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

    async def resync(
        self, channel: str, cursor: tuple[int, int], epoch: bytes | None, *, count: int = 500
    ) -> Resync:
        """Up to ``count`` events after ``cursor``, checking that the cursor is still known.

        The read starts *at* the cursor: its entry witnesses that the stream is the one
        the reader followed (and, when ``epoch`` is given, of the same epoch).
        """
        key = stream_key(channel)
        start = "-" if cursor == ZERO else format_id(cursor)
        async with asyncio.timeout(self._timeout_s), self._gate:
            rows: Any = await self._redis.xrange(key, min=start, count=count + 1)
        events = [Event.from_entry(channel, eid, fields) for eid, fields in rows]
        if cursor == ZERO:
            return Resync(True, None, events)
        if not events or events[0].pos != cursor:
            return Resync(False, None, [])
        seen = rows[0][1].get(EPOCH_FIELD)
        if epoch is not None and seen is not None and seen != epoch:
            return Resync(False, seen, [])
        return Resync(True, seen, events[1:])

    async def check_retention(self, channel: str, last_id: str) -> str | None:
        """Where a resume from ``last_id`` must restart, or None when it can go on.

        None when ``last_id``'s entry is still in the stream (every later event is then
        retained too: streams are only trimmed from the oldest end). Otherwise the oldest
        retained id (``"0-0"`` when nothing is retained): the position fell out of
        retention, or it is unknown to this stream — the stream was lost and re-created,
        or the id was never issued here — and going on would be a silent gap.
        ``"0-0"`` (replay everything retained) is reset only when trimming lost events.
        """
        pos = parse_id(last_id)
        if pos == ZERO:
            return await self._trimmed_from_start(channel)
        key = stream_key(channel)
        exact = format_id(pos)
        async with asyncio.timeout(self._timeout_s), self._gate:
            pipe = self._redis.pipeline(transaction=False)
            pipe.xrange(key, min=exact, max=exact, count=1)
            pipe.xrange(key, count=1)
            hit, first = await pipe.execute()
        if hit:
            return None
        return _text(first[0][0]) if first else format_id(ZERO)

    async def _trimmed_from_start(self, channel: str) -> str | None:
        async with asyncio.timeout(self._timeout_s), self._gate:
            try:
                info = await self._redis.xinfo_stream(stream_key(channel))
            except aioredis.ResponseError:  # no such stream: expired or never written
                return None
        first = info.get("first-entry")
        # Trimming does not move max-deleted-entry-id; entries-added > length says it ran.
        if first and int(info.get("entries-added") or 0) > int(info.get("length") or 0):
            return _text(first[0])
        return None

    async def read_after(self, channel: str, last_id: str, *, count: int = 500) -> ReadResult:
        """Replay: events after ``last_id`` (a batch of up to ``count``), with reset info.

        When ``last_id`` cannot be resumed (see ``check_retention``), ``reset_oldest_id``
        names the oldest retained event and the batch starts there.
        """
        oldest = await self.check_retention(channel, last_id)
        after = parse_id(last_id)
        if oldest is not None:
            after = before(parse_id(oldest))
        return ReadResult(await self.read_range(channel, after, count=count), oldest)
