"""The fan-out fast paths, without a server: WebSocket frames encoded once and written
straight to the transport, the fallback to the bounded queue under backpressure (order
kept), the 1013 drop, and the hub's fan-out in slices that yield to the loop."""

from __future__ import annotations

import asyncio
import types
from typing import Any

import orjson
import pytest

from handlers.conn_registry import DIRECT_LIMIT
from handlers.ws.connection import TRY_AGAIN_LATER, WsConnection, WsDeps
from handlers.ws.frames import event_frame, event_text
from handlers.ws.frames import text_frame as ws_text_frame
from services.events import Event, EventHub, EventStats, Subscription
from services.events.hub import FANOUT_SLICE

NAME = "recommendations"


def frames(wire: bytes) -> list[dict[str, Any]]:
    """Decode unmasked server text frames."""
    out: list[dict[str, Any]] = []
    pos = 0
    while pos < len(wire):
        assert wire[pos] == 0x81  # FIN + text
        length, head = wire[pos + 1] & 0x7F, 2
        if length == 126:
            length, head = int.from_bytes(wire[pos + 2 : pos + 4], "big"), 4
        elif length == 127:
            length, head = int.from_bytes(wire[pos + 2 : pos + 10], "big"), 10
        out.append(orjson.loads(wire[pos + head : pos + head + length]))
        pos += head + length
    return out


class FakeTransport:
    def __init__(self) -> None:
        self.wire = bytearray()
        self.buffered = 0
        self.closing = False
        self.aborted = False

    def write(self, data: bytes) -> None:
        self.wire += data

    def is_closing(self) -> bool:
        return self.closing

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def abort(self) -> None:
        self.aborted = True


class FakeWs:
    """Like aiohttp's WebSocketResponse (uncompressed): send_str writes the frame to the
    transport at once, then may wait for a drain (``drain`` not set)."""

    compress = False

    def __init__(self, transport: FakeTransport) -> None:
        self.transport = transport
        self.drain = asyncio.Event()
        self.drain.set()
        self.closed = False
        self.close_code: int | None = None

    async def send_str(self, text: str) -> None:
        self.transport.write(ws_text_frame(text.encode()))
        await self.drain.wait()

    async def close(self, *, code: int = 1000, message: bytes = b"") -> bool:
        self.closed = True
        self.close_code = code
        return True


def make_event(i: int, name: str = "note") -> Event:
    return Event(id=f"{i}-0", channel="c", event=name, raw=b'{"i":%d}' % i, pos=(i, 0))


def make_conn(queue_size: int = 8) -> tuple[WsConnection, FakeWs, FakeTransport, EventStats]:
    transport = FakeTransport()
    ws = FakeWs(transport)
    stats = EventStats()
    deps = WsDeps(
        hub=None,  # type: ignore[arg-type]
        access=None,  # type: ignore[arg-type]
        stats=stats,
        queue_size=queue_size,
        messages_per_s=100,
        send_timeout_s=5,
    )
    request = types.SimpleNamespace(transport=transport)
    user = types.SimpleNamespace(id="u1")
    return WsConnection(ws, request, user, deps), ws, transport, stats  # type: ignore[arg-type]


def make_sub(stats: EventStats, queue_size: int = 32) -> Subscription:
    hub = types.SimpleNamespace(detach=lambda sub: None)
    return Subscription(
        hub,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        "c",
        start=(0, 0),
        queue_size=queue_size,
        stats=stats,
        replay=False,
    )


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 70000])
def test_ws_text_frame_lengths(size: int) -> None:
    payload = b'"' + b"x" * size + b'"'
    assert frames(ws_text_frame(payload)) == ["x" * size]


def test_ws_frame_is_encoded_once_per_channel_name() -> None:
    ev = make_event(1)
    assert event_frame(ev, NAME) is event_frame(ev, NAME)
    assert frames(event_frame(ev, NAME)) == [orjson.loads(event_text(ev, NAME))]
    assert frames(event_frame(ev, "other"))[0]["channel"] == "other"


async def test_ws_direct_writes_fall_back_to_the_queue_in_order() -> None:
    conn, ws, transport, stats = make_conn()
    sub = make_sub(stats)
    conn.start_pump(NAME, sub)
    # Caught up: the hub writes the shared frame itself (no task, no queue).
    assert sub.offer(make_event(1)) is True
    assert conn._writer_task is None
    # Backpressure: the direct write declines, the event goes through the queues.
    transport.buffered = DIRECT_LIMIT + 1
    ws.drain.clear()  # and the writer's send then waits for a drain
    assert sub.offer(make_event(2)) is False
    await settle()
    assert conn._writer_task is not None and not conn._writer_task.done()
    # The transport has room again, but a message is still in flight: nothing may
    # overtake it, so the next event is queued behind it too.
    transport.buffered = 0
    assert sub.offer(make_event(3)) is False
    await settle()
    ws.drain.set()
    await settle()
    assert conn._writer_task.done() and conn._out is None
    # Backlog drained: direct writes resume.
    assert sub.offer(make_event(4)) is True
    got = frames(bytes(transport.wire))
    assert [m["id"] for m in got] == ["1-0", "2-0", "3-0", "4-0"]
    assert all(m["type"] == "event" and m["channel"] == NAME for m in got)
    assert sub.offer_batch([make_event(5), make_event(6)]) == 2  # one write for a batch
    assert [m["id"] for m in frames(bytes(transport.wire))][-2:] == ["5-0", "6-0"]


async def test_ws_replies_go_direct_and_queue_behind_a_backlog() -> None:
    conn, _ws, transport, _ = make_conn()
    conn.send({"type": "pong"})
    assert frames(bytes(transport.wire)) == [{"type": "pong"}]
    transport.buffered = DIRECT_LIMIT + 1
    conn.send({"type": "pong", "n": 2})
    transport.buffered = 0
    conn.send({"type": "pong", "n": 3})  # behind the queued one
    assert conn._out is not None and len(conn._out) == 2
    await settle()
    assert [m.get("n") for m in frames(bytes(transport.wire))] == [None, 2, 3]


async def test_ws_slow_subscriber_is_closed_1013() -> None:
    conn, ws, transport, stats = make_conn(queue_size=4)
    sub = make_sub(stats, queue_size=4)
    conn.start_pump(NAME, sub)
    transport.buffered = DIRECT_LIMIT + 1
    ws.drain.clear()  # the client stopped reading
    for i in range(1, 40):
        sub.offer(make_event(i))
        await asyncio.sleep(0)
        if conn.closing:
            break
    assert conn.closing
    ws.drain.set()
    await settle()
    assert ws.close_code == TRY_AGAIN_LATER


async def test_ws_queued_progress_events_coalesce() -> None:
    conn, _ws, transport, stats = make_conn(queue_size=64)
    sub = make_sub(stats, queue_size=8)
    conn.start_pump(NAME, sub)
    transport.buffered = DIRECT_LIMIT + 1
    for i in range(1, 6):  # the hub cannot write: the subscription queues (no feed yet)
        sub.offer(make_event(i, "progress"))
    assert stats.coalesced > 0 and sub.queued < 5
    transport.buffered = 0
    await settle()
    ids = [m["id"] for m in frames(bytes(transport.wire))]
    assert ids[-1] == "5-0" and ids == sorted(ids, key=lambda x: int(x.split("-")[0]))


async def test_hub_fans_out_in_slices_in_order() -> None:
    stats = EventStats()
    bus = types.SimpleNamespace(stats=stats)
    hub = EventHub(None, bus, 32)  # type: ignore[arg-type]
    n = FANOUT_SLICE * 2 + 7
    got: list[list[str]] = [[] for _ in range(n)]
    subs = []
    for i in range(n):
        sub = Subscription(hub, bus, "c", start=(0, 0), queue_size=32, stats=stats, replay=False)  # type: ignore[arg-type]
        sub.direct = lambda ev, out=got[i]: out.append(ev.id) is None
        sub.direct_batch = lambda evs, out=got[i]: out.extend(e.id for e in evs) is None
        sub.wait_future()
        subs.append(sub)
    hub._subs["c"] = set(subs)
    hub._cursors["fp:ev:c"] = (0, 0)
    served_when_ticked: list[int] = []

    async def ticker() -> None:
        while True:
            served_when_ticked.append(sum(map(len, got)))
            await asyncio.sleep(0)

    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    await hub._dispatch([[b"fp:ev:c", [(b"1-0", {b"e": b"n", b"d": b"1"})]]])
    await hub._dispatch(
        [[b"fp:ev:c", [(b"2-0", {b"e": b"n", b"d": b"2"}), (b"3-0", {b"e": b"n", b"d": b"3"})]]]
    )
    tick.cancel()
    assert all(ids == ["1-0", "2-0", "3-0"] for ids in got)
    assert stats.direct == stats.delivered == 3 * n
    # The loop ran other work part-way through a fan-out (between slices).
    assert any(0 < k < n for k in served_when_ticked)
    assert hub._cursors["fp:ev:c"] == (3, 0)


async def test_ws_writer_sends_what_room_callbacks_queue() -> None:
    conn, ws, transport, _ = make_conn(queue_size=4)
    transport.buffered = DIRECT_LIMIT + 1  # no direct writes: everything is queued
    ws.drain.clear()
    conn.send({"n": 1})
    await settle()  # the writer sent n=1 and waits for a drain; the queue is empty
    conn._when_room(lambda: conn.send({"n": 2}))
    ws.drain.set()
    await settle()
    assert [m["n"] for m in frames(bytes(transport.wire))] == [1, 2]
    assert conn._out is None and conn._writer_task is not None and conn._writer_task.done()
