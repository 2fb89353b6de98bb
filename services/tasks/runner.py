"""TaskRunner: what a job does. One run = one attempt of one task row.

A run starts an attempt (its fencing token), reports progress between steps or items,
checks for cancellation there, and ends the row exactly once: succeeded, failed,
cancelled, or back to ``queued`` when the failure is transient and procrastinate will
retry the job with backoff.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import orjson
import redis.exceptions

from db.pool import is_unavailable
from services.career.scoring import profile_text
from services.clock import now_iso
from services.errors import DomainError, RateLimited, Unavailable
from services.tasks.kinds import (
    BATCH_ROLE_MATCH,
    CANCELLED,
    CAREER_REPORT,
    FAILED,
    SUCCEEDED,
    CareerPort,
)
from services.tasks.store import Attempt, ChunkedResult, TaskStore

log = logging.getLogger(__name__)


class TaskCancelled(Exception):
    """The user asked the task to stop."""


class Superseded(Exception):
    """Another attempt owns the task now (this run was presumed dead and retried)."""


def is_transient(exc: BaseException) -> bool:
    """Failures worth retrying: a dependency briefly unavailable or too slow."""
    if isinstance(exc, Unavailable | RateLimited):
        return True
    if isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError):
        return True
    return is_unavailable(exc)


def _error(code: str, message: str) -> dict[str, Any]:
    return {"code": code, "message": message}


class TaskRunner:
    """Runs task kinds against the career features; reports through the TaskStore."""

    def __init__(
        self,
        store: TaskStore,
        career: CareerPort,
        *,
        timeout_s: float,
        batch_concurrency: int,
        item_timeout_s: float = 30.0,
        item_rate_limit_retries: int = 3,
    ) -> None:
        self._store = store
        self.career = career
        self._timeout_s = timeout_s
        self._batch_concurrency = batch_concurrency
        self._item_timeout_s = item_timeout_s
        self._item_rate_limit_retries = item_rate_limit_retries

    async def run(self, task_id: str, *, will_retry: Callable[[BaseException], bool]) -> None:
        """Run one attempt. Re-raises only a transient error that procrastinate will retry,
        and cancellation of the worker itself (after handing the task back to the queue)."""
        attempt = await self._store.start_attempt(task_id, message="Started.", step="start")
        if attempt is None:
            return  # already final (cancelled while queued): nothing to do
        if attempt.cancel_requested:
            await self._finish(attempt, CANCELLED, message="Cancelled before it started.")
            return
        kinds = {CAREER_REPORT: self._career_report, BATCH_ROLE_MATCH: self._batch_role_match}
        body = kinds.get(attempt.kind)
        if body is None:
            await self._fail(attempt, "unknown_kind", f"Unknown task kind {attempt.kind!r}.")
            return
        deadline = asyncio.timeout(self._timeout_s)
        try:
            async with deadline:
                result = await body(attempt)
        except TaskCancelled:
            await self._finish(attempt, CANCELLED, message="Cancelled.")
        except Superseded:
            log.info("task %s attempt %s superseded; stopping", task_id, attempt.attempt)
        except TimeoutError as exc:
            if deadline.expired():
                await self._fail(
                    attempt, "timeout", f"The task did not finish within {self._timeout_s:g} s."
                )
            else:
                await self._transient(attempt, exc, will_retry)
        except asyncio.CancelledError:
            # The worker is stopping: hand the task back; procrastinate requeues the job.
            await asyncio.shield(
                self._requeue(attempt, "The worker stopped; the task will resume.")
            )
            raise
        except Exception as exc:
            if is_transient(exc):
                await self._transient(attempt, exc, will_retry)
            else:
                log.exception("task %s (%s) failed", task_id, attempt.kind)
                detail = exc.detail if isinstance(exc, DomainError) else "An unexpected error."
                await self._fail(attempt, "task_error", f"The task failed: {detail}")
        else:
            await self._finish(attempt, SUCCEEDED, result=result, message="Done.")

    async def _transient(
        self, attempt: Attempt, exc: BaseException, will_retry: Callable[[BaseException], bool]
    ) -> None:
        name = exc.__class__.__name__
        if will_retry(exc):
            log.warning("task %s: transient %s; will retry", attempt.task_id, name)
            await self._requeue(attempt, f"A dependency failed ({name}); retrying shortly.")
            raise exc
        await self._fail(attempt, "dependency_unavailable", f"A dependency kept failing ({name}).")

    async def _requeue(self, attempt: Attempt, message: str) -> None:
        try:
            await self._store.requeue(attempt.task_id, message=message, attempt=attempt.attempt)
        except Exception:  # the sweeper reconciles the row if this write is lost
            log.warning("could not requeue task %s", attempt.task_id, exc_info=True)

    async def _finish(self, attempt: Attempt, status: str, **kwargs: Any) -> None:
        await self._store.finish(attempt.task_id, status, attempt=attempt.attempt, **kwargs)

    async def _fail(self, attempt: Attempt, code: str, message: str) -> None:
        await self._finish(attempt, FAILED, error=_error(code, message), message=message)

    async def _step(self, attempt: Attempt, progress: int, message: str, step: str) -> None:
        """Report progress; stop here if the task was cancelled or superseded."""
        cancel = await self._store.progress(attempt, progress, message, step)
        if cancel is None:
            raise Superseded()
        if cancel:
            raise TaskCancelled()

    # -- career_report ------------------------------------------------------------------
    async def _career_report(self, attempt: Attempt) -> dict[str, Any]:
        user_id = attempt.user_id
        target = attempt.params.get("target_role")
        await self._step(attempt, 5, "Analysing the profile.", "profile_analysis")
        analysis = await self.career.profile_analysis(user_id)
        profile = analysis["profile"]

        await self._step(attempt, 25, "Recommending roles.", "role_recommendations")
        roles = await self.career.recommend_roles(
            profile_text(profile), limit=5, profile=profile, user_id=user_id
        )
        recs = roles.get("recommendations") or []
        if not target and recs:
            target = recs[0]["role_id"]

        await self._step(attempt, 50, "Finding skill gaps.", "skill_gaps")
        gaps = await self.career.skill_gaps(profile, target) if target else None

        await self._step(attempt, 75, "Building a learning path.", "learning_path")
        path = await self.career.learning_path(profile, target, user_id=user_id) if target else None
        await self._step(attempt, 95, "Writing the report.", "report")
        return {
            "profile_analysis": analysis,
            "role_recommendations": roles,
            "target_role": target,
            "skill_gaps": gaps,
            "learning_path": path,
            "generated_at": now_iso(),
        }

    # -- batch_role_match ---------------------------------------------------------------
    async def _batch_role_match(self, attempt: Attempt) -> ChunkedResult:
        descriptions: list[str] = list(attempt.params["job_descriptions"])
        limit = int(attempt.params.get("limit", 5))
        total = len(descriptions)
        results: list[bytes] = [b"null"] * total  # each item JSON-encoded as it completes
        changed = asyncio.Event()  # an item finished: the reporter writes the latest count
        stop = asyncio.Event()  # cancelled or superseded: lanes take no further item
        state = {"done": 0, "reported": 0, "failed": 0, "finished": False}
        stopped: list[BaseException] = []
        pending = iter(enumerate(descriptions))  # shared by the lanes: each item taken once

        await self._step(attempt, 0, f"Matching {total} job descriptions.", "matching")
        # Read once: every item is scored for the same person, as POST /recommendations/
        # roles scores it (the 71 vs 76 came from batches scoring without one).
        profile = await self.career.profile(attempt.user_id)

        async def reporter() -> None:
            """Progress after each item; counts that finish during a write coalesce."""
            while not stop.is_set():
                await changed.wait()
                changed.clear()
                done = state["done"]
                if done > state["reported"]:
                    try:
                        await self._step(
                            attempt,
                            min(99, done * 100 // total),
                            f"Matched {done} of {total} job descriptions.",
                            "matching",
                        )
                    except (TaskCancelled, Superseded) as exc:
                        stopped.append(exc)
                        stop.set()
                    state["reported"] = done
                if state["finished"] and state["reported"] >= state["done"]:
                    return

        async def lane() -> None:
            """One of ``batch_concurrency`` lanes: never more calls than that at once."""
            for index, text in pending:
                if stop.is_set():
                    return
                item = await self._match_one(index, text, limit, attempt.user_id, profile)
                item["excerpt"] = excerpt(text)  # which ad this row is, in the result itself
                results[index] = orjson.dumps(item, default=str)
                if "error" in item:
                    state["failed"] += 1
                state["done"] += 1
                changed.set()

        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(reporter())
                lanes = [
                    group.create_task(lane()) for _ in range(min(self._batch_concurrency, total))
                ]
                await asyncio.gather(*lanes)
                state["finished"] = True
                changed.set()
        except ExceptionGroup as group_error:  # e.g. the database went away mid-batch
            raise group_error.exceptions[0] from None
        if stopped:
            raise stopped[0]
        summary = {"total": total, "succeeded": total - state["failed"], "failed": state["failed"]}
        return ChunkedResult("results", results, summary)

    async def _match_one(
        self, index: int, text: str, limit: int, user_id: str, profile: dict[str, Any]
    ) -> dict[str, Any]:
        """One description's answer, or an error entry for it (never fails the batch)."""
        for _ in range(self._item_rate_limit_retries + 1):
            try:
                async with asyncio.timeout(self._item_timeout_s):
                    answer = await self.career.recommend_roles(
                        text, limit=limit, profile=profile, user_id=user_id, bulk=True
                    )
                return {"index": index, **answer}
            except RateLimited as exc:  # the user's AI quota: wait for it, then go on
                await asyncio.sleep(min(exc.retry_after, self._item_timeout_s))
            except TimeoutError:
                return {"index": index, "error": _error("timeout", "Matching took too long.")}
            except Exception as exc:
                log.warning("batch item %s failed", index, exc_info=True)
                detail = exc.detail if isinstance(exc, DomainError) else exc.__class__.__name__
                return {
                    "index": index,
                    "error": _error("item_failed", f"Could not match: {detail}"),
                }
        return {"index": index, "error": _error("rate_limited", "The AI quota stayed exhausted.")}


EXCERPT_WORDS = 12
EXCERPT_CHARS = 100


def excerpt(text: str) -> str:
    """The first words of a job description, to tell the rows of a batch apart."""
    words = text.split()
    short = " ".join(words[:EXCERPT_WORDS])
    if len(short) > EXCERPT_CHARS:
        short = short[: EXCERPT_CHARS - 1].rstrip()
    return short + ("…" if len(short) < len(" ".join(words)) else "")
