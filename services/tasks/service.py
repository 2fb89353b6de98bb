"""TaskService: create, list, read and cancel a user's long-running tasks."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import orjson

from db.jobs import DEFAULT_QUEUE, cancel_queued_job, defer_job
from db.pool import Database
from db.queries import tasks as q
from services.errors import NotFound, RateLimited
from services.tasks.kinds import (
    CANCELLED,
    FINAL_EVENT,
    FINAL_STATUSES,
    QUEUED,
    validate_params,
)
from services.tasks.store import TaskStore, final_event_data

JOB_TASK_NAME = "fluentpro.run_task"


def parse_task_id(raw: str) -> str | None:
    """The canonical UUID string, or None for anything that is not a UUID."""
    try:
        return str(uuid.UUID(raw))
    except (ValueError, TypeError, AttributeError):
        return None


def _result(row: dict[str, Any]) -> Any:
    """A succeeded task's result as pre-encoded JSON (megabytes are passed on unparsed);
    a large result is staged in the row while the task is still running: not shown."""
    raw = row.get("result_json")
    if raw is None or row["status"] != "succeeded":
        return None
    return orjson.Fragment(raw.encode())


def task_view(row: dict[str, Any]) -> dict[str, Any]:
    """A task as the API shows it (API.md "Long-running tasks")."""
    view: dict[str, Any] = {
        "task_id": str(row["id"]),
        "kind": row["kind"],
        "status": row["status"],
        "progress": int(row["progress"]),
        "message": row["message"],
        "step": row["step"],
        "attempts": int(row["attempts"]),
        "cancel_requested": bool(row["cancel_requested"]),
        "created_at": row["created_at"],
        "started_at": row["started_at"],
        "finished_at": row["finished_at"],
    }
    result = _result(row)
    if result is not None:
        view["result"] = result
    if row.get("error") is not None:
        view["error"] = row["error"]
    return view


class TaskService:
    """The task API's domain: rows in ``tasks``, jobs in procrastinate's queue."""

    def __init__(
        self,
        db: Database,
        store: TaskStore,
        *,
        tasks_per_user: int,
        queue: str = DEFAULT_QUEUE,
        retry_after_s: float = 5.0,
    ) -> None:
        self._db = db
        self._store = store
        self._tasks_per_user = tasks_per_user
        self._queue = queue
        self._retry_after_s = retry_after_s

    async def create(
        self, user_id: str, kind: str, params: dict[str, Any] | None
    ) -> dict[str, Any]:
        """Validate, check the per-user limit, then insert the row and its job atomically.

        Raises ValidationFailed (422) for bad params, RateLimited (429) over the limit.
        """
        clean = validate_params(kind, params if params is not None else {})
        task_id = str(uuid.uuid4())
        async with self._db.transaction() as cur:
            await cur.execute(q.LOCK_USER, {"user_id": user_id})
            await cur.execute(q.COUNT_ACTIVE_FOR_USER, {"user_id": user_id})
            active = int((await cur.fetchone())["n"])
            if active >= self._tasks_per_user:
                raise RateLimited(
                    f"At most {self._tasks_per_user} tasks may be queued or running at once.",
                    retry_after=self._retry_after_s,
                )
            job_id = await defer_job(
                cur, task_name=JOB_TASK_NAME, args={"task_id": task_id}, queue=self._queue
            )
            await cur.execute(
                q.INSERT_TASK,
                {
                    "id": task_id,
                    "user_id": user_id,
                    "kind": kind,
                    "params": orjson.dumps(clean).decode(),
                    "job_id": job_id,
                },
            )
            row = dict(await cur.fetchone())
        return task_view(row)

    async def get(self, user_id: str, task_id: str) -> dict[str, Any]:
        """One of the user's tasks; NotFound for a malformed id or another user's task."""
        return task_view(await self._row(user_id, task_id))

    async def _row(self, user_id: str, task_id: str) -> dict[str, Any]:
        canonical = parse_task_id(task_id)
        row = None
        if canonical is not None:
            row = await self._db.fetch_one(q.TASK_FOR_USER, {"id": canonical, "user_id": user_id})
        if row is None:
            raise NotFound("No such task.")
        return row

    async def list(
        self, user_id: str, *, limit: int, after: tuple[datetime | str, str] | None = None
    ) -> tuple[list[dict[str, Any]], tuple[str, str] | None]:
        """A page of the user's tasks, newest first, and the key of the next page."""
        params: dict[str, Any] = {"user_id": user_id, "limit": limit + 1}
        if after is None:
            rows = await self._db.fetch_all(q.LIST_FIRST_PAGE, params)
        else:
            params.update(created_at=after[0], id=after[1])
            rows = await self._db.fetch_all(q.LIST_AFTER_CURSOR, params)
        more = len(rows) > limit
        rows = rows[:limit]
        next_key = None
        if more and rows:
            last = rows[-1]
            next_key = (last["created_at"].isoformat(), str(last["id"]))
        return [task_view(r) for r in rows], next_key

    async def cancel(self, user_id: str, task_id: str) -> dict[str, Any]:
        """Ask a task to stop: a queued task is cancelled at once, a running one soon.

        A task that already finished is left as it is.
        """
        row = await self._row(user_id, task_id)
        tid = str(row["id"])
        cancelled_now = False
        async with self._db.transaction() as cur:
            await cur.execute(q.LOCK_TASK_FOR_USER, {"id": tid, "user_id": user_id})
            locked = await cur.fetchone()
            if locked is not None and locked["status"] in (QUEUED, "running"):
                await cur.execute(q.REQUEST_CANCEL, {"id": tid})
                if locked["status"] == QUEUED and locked["job_id"] is not None:
                    cancelled_now = await cancel_queued_job(cur, int(locked["job_id"]))
        if cancelled_now:
            # No worker will ever take the job: finish the row (and publish) here.
            await self._store.cancel(tid, message="Cancelled before it started.")
        return await self.get(user_id, tid)

    async def final_event(
        self, user_id: str, task_id: str
    ) -> tuple[str, tuple[str, dict[str, Any]] | None]:
        """The task's canonical id and its final (event, data), None while it is queued or
        running; NotFound for a malformed id or another user's task."""
        row = await self._row(user_id, task_id)
        return str(row["id"]), final_event_of(row)

    async def counts(self) -> dict[str, int]:
        """Queued and running tasks across all users (metrics, system status)."""
        rows = await self._db.fetch_all(q.COUNT_BY_STATUS)
        found = {r["status"]: int(r["n"]) for r in rows}
        return {"queued": found.get(QUEUED, 0), "running": found.get("running", 0)}


def final_event_of(row: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The final event a finished task row stands for."""
    status = row["status"]
    if status not in FINAL_STATUSES:
        return None
    data = final_event_data(str(row["id"]), status, _result(row), row.get("error"))
    return FINAL_EVENT[status], data


__all__ = ["CANCELLED", "JOB_TASK_NAME", "TaskService", "final_event_of", "parse_task_id"]
