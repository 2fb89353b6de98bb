"""TaskStore: every write to a task row, each followed by its event on ``tasks:<id>``.

The row is the truth; the event mirrors it. A final event is published only by the
writer whose UPDATE moved the row to a final state, so there is exactly one.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import orjson

from db.pool import Database
from db.queries import tasks as q
from services.clock import now_iso
from services.events.channels import task_channel
from services.tasks.kinds import (
    CANCELLED,
    FAILED,
    FINAL_EVENT,
    RUNNING,
    SUCCEEDED,
    EventPublisher,
)

log = logging.getLogger(__name__)


def _json(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def final_event_data(task_id: str, status: str, result: Any, error: Any) -> dict[str, Any]:
    """The payload of a task's final event."""
    data: dict[str, Any] = {"task_id": task_id, "status": status}
    if status == SUCCEEDED:
        data["result"] = result
    elif status == FAILED:
        data["error"] = error
    return data


@dataclass
class ChunkedResult:
    """A large result built as it is produced: ``items`` are JSON-encoded list entries
    (in order) stored under ``key``, ``summary`` holds the other top-level fields.

    Encoding each item as it completes and writing the list in chunks keeps every step
    small: a 500-item batch result is ~3 MB of JSON, and encoding or sending it in one
    piece would block the event loop for tens of milliseconds.
    """

    key: str
    items: list[bytes]
    summary: dict[str, Any]
    chunk_items: int = 50

    def chunks(self) -> list[bytes]:
        """The items as JSON arrays of up to ``chunk_items`` entries."""
        n = self.chunk_items
        return [
            b"[" + b",".join(self.items[i : i + n]) + b"]" for i in range(0, len(self.items), n)
        ]

    def fragment(self) -> orjson.Fragment:
        """The whole result as pre-encoded JSON (for the final event)."""
        head = b'{"' + self.key.encode() + b'":[' + b",".join(self.items) + b"]"
        rest = orjson.dumps(self.summary)[1:]  # "}" or ',"k":v,...}'
        return orjson.Fragment(head + (b"," + rest if rest != b"}" else rest))


@dataclass
class Attempt:
    """One run of a task: what the worker needs and the fencing token of its writes."""

    task_id: str
    user_id: str
    kind: str
    params: dict[str, Any]
    attempt: int
    cancel_requested: bool


class TaskStore:
    """Row writes and the events that mirror them."""

    def __init__(self, db: Database, bus: EventPublisher, *, publish_timeout_s: float = 3.0):
        self._db = db
        self._bus = bus
        self._publish_timeout_s = publish_timeout_s
        self.finished: dict[str, int] = {}  # final transitions by status (for /metrics)

    async def publish(self, task_id: str, event: str, data: dict[str, Any]) -> None:
        """Publish on the task's channel; a Redis hiccup is logged, the row stays the truth."""
        try:
            async with asyncio.timeout(self._publish_timeout_s):
                await self._bus.publish(task_channel(task_id), event, data)
        except Exception:  # the event is a mirror: never fail the task because of it
            log.warning("could not publish %s for task %s", event, task_id, exc_info=True)

    async def _progress_event(
        self, task_id: str, status: str, progress: int, message: str, step: str
    ) -> None:
        await self.publish(
            task_id,
            "progress",
            {
                "task_id": task_id,
                "progress": progress,
                "status": status,
                "message": message,
                "step": step,
                "timestamp": now_iso(),
            },
        )

    async def start_attempt(self, task_id: str, *, message: str, step: str) -> Attempt | None:
        """Mark the task running for a new attempt; None when it is already final."""
        row = await self._db.fetch_one(
            q.START_ATTEMPT, {"id": task_id, "message": message, "step": step}
        )
        if row is None:
            return None
        await self._progress_event(task_id, RUNNING, int(row["progress"]), message, step)
        return Attempt(
            task_id=task_id,
            user_id=str(row["user_id"]),
            kind=row["kind"],
            params=dict(row["params"]),
            attempt=int(row["attempts"]),
            cancel_requested=bool(row["cancel_requested"]),
        )

    async def progress(
        self, attempt: Attempt, progress: int, message: str, step: str
    ) -> bool | None:
        """Record progress; returns cancel_requested, or None when this run was superseded."""
        row = await self._db.fetch_one(
            q.PROGRESS,
            {
                "id": attempt.task_id,
                "attempt": attempt.attempt,
                "progress": max(0, min(100, int(progress))),
                "message": message,
                "step": step,
            },
        )
        if row is None:
            return None
        await self._progress_event(attempt.task_id, RUNNING, int(row["progress"]), message, step)
        return bool(row["cancel_requested"])

    async def cancel_requested(self, attempt: Attempt) -> bool | None:
        """Whether cancellation was asked for; None when this run was superseded."""
        row = await self._db.fetch_one(
            q.CANCEL_REQUESTED, {"id": attempt.task_id, "attempt": attempt.attempt}
        )
        return None if row is None else bool(row["cancel_requested"])

    async def finish(
        self,
        task_id: str,
        status: str,
        *,
        result: Any = None,
        error: Any = None,
        message: str = "",
        attempt: int | None = None,
    ) -> bool:
        """Move the task to a final state and publish its one final event.

        Returns False (and publishes nothing) when the task was already final or the
        attempt was superseded.
        """
        if status not in FINAL_EVENT:
            raise ValueError(f"not a final status: {status}")
        stored = result
        if isinstance(result, ChunkedResult):
            if status == SUCCEEDED and not await self._stage(task_id, attempt, result):
                return False
            stored, result = result.summary, result.fragment()
        row = await self._db.fetch_one(
            q.FINISH,
            {
                "id": task_id,
                "status": status,
                "result": _json(stored) if status == SUCCEEDED else None,
                "error": _json(error) if status == FAILED else None,
                "message": message,
                "attempt": attempt,
            },
        )
        if row is None:
            return False
        self.finished[status] = self.finished.get(status, 0) + 1
        if status == SUCCEEDED:  # the bar reaches 100 before the final event
            await self._progress_event(task_id, status, 100, message, row["step"] or "")
        await self.publish(
            task_id, FINAL_EVENT[status], final_event_data(task_id, status, result, error)
        )
        return True

    async def _stage(self, task_id: str, attempt: int | None, result: ChunkedResult) -> bool:
        """Write a chunked result's list into the row, chunk by chunk (still ``running``)."""
        if attempt is None:
            raise ValueError("a chunked result needs the attempt that produced it")
        for n, chunk in enumerate(result.chunks() or [b"[]"]):
            written = await self._db.execute(
                q.STAGE_RESULT_APPEND if n else q.STAGE_RESULT_FIRST,
                {"id": task_id, "attempt": attempt, "key": result.key, "chunk": chunk.decode()},
            )
            if not written:
                return False  # superseded (or already final)
        return True

    async def requeue(self, task_id: str, *, message: str, attempt: int | None = None) -> bool:
        """Put a running task back in the queue for another attempt."""
        row = await self._db.fetch_one(
            q.REQUEUE, {"id": task_id, "message": message, "attempt": attempt}
        )
        if row is None:
            return False
        await self._progress_event(task_id, "queued", int(row["progress"]), message, row["step"])
        return True

    async def cancel(self, task_id: str, *, message: str = "Cancelled.") -> bool:
        """Finish a task as cancelled (the job has been stopped or never started)."""
        return await self.finish(task_id, CANCELLED, message=message)
