"""Administrators' view of tasks across users: the queued/running/failed table, cancel."""

from __future__ import annotations

from typing import Any

from db.pool import Database
from db.queries import admin_tasks as q
from services.errors import NotFound
from services.tasks.service import TaskService, parse_task_id

ADMIN_STATUSES = ("queued", "running", "failed")


class TaskAdmin:
    """Lists every user's tasks by status and cancels any of them (admin only)."""

    def __init__(self, db: Database, tasks: TaskService) -> None:
        self._db = db
        self._tasks = tasks

    async def list(self, statuses: list[str], limit: int) -> list[dict[str, Any]]:
        """Tasks in *statuses*, newest first."""
        rows = await self._db.fetch_all(q.ADMIN_LIST, {"statuses": statuses, "limit": limit})
        return [
            {
                "task_id": str(r["id"]),
                "kind": r["kind"],
                "status": r["status"],
                "progress": int(r["progress"]),
                "message": r["message"],
                "step": r["step"],
                "error": r["error"],
                "attempts": int(r["attempts"]),
                "cancel_requested": bool(r["cancel_requested"]),
                "created_at": r["created_at"],
                "started_at": r["started_at"],
                "finished_at": r["finished_at"],
                "user_id": str(r["user_id"]),
                "user_email": r["email"],
            }
            for r in rows
        ]

    async def cancel(self, task_id: str) -> dict[str, Any]:
        """Cancel any user's task the way its owner would (at once if queued, soon if
        running); NotFound for a malformed or unknown id."""
        canonical = parse_task_id(task_id)
        row = None
        if canonical is not None:
            row = await self._db.fetch_one(q.OWNER_OF_TASK, {"id": canonical})
        if row is None:
            raise NotFound("No such task.")
        return await self._tasks.cancel(row["user_id"], str(canonical))
