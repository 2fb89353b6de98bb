"""TaskWorker: a procrastinate worker running in this process, plus the stalled-job sweeper.

- The worker heartbeats every ``stalled_after_s / 4`` s (procrastinate's worker heartbeat).
- Every ``stalled_after_s / 3`` s each worker's sweeper (serialised across processes by an
  advisory lock) lists procrastinate's stalled jobs (workers silent for
  ``stalled_after_s``), retries each (or fails it once its retries are spent) and moves
  the task row with it, so a killed worker's task is picked up by another worker.
- It also fails task rows whose job vanished or ended without them (never ``running``
  forever).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import procrastinate
from procrastinate import exceptions as pexc
from procrastinate import jobs as pjobs
from procrastinate.connector import BaseAsyncConnector
from procrastinate.job_context import JobContext
from procrastinate.retry import BaseRetryStrategy, RetryDecision

from db.jobs import DEFAULT_QUEUE
from db.pool import Database
from db.queries import tasks as q
from services.tasks.kinds import FAILED
from services.tasks.runner import TaskRunner, is_transient
from services.tasks.service import JOB_TASK_NAME
from services.tasks.store import TaskStore

log = logging.getLogger(__name__)


class TransientRetry(BaseRetryStrategy):
    """Retry transient failures with exponential backoff; hand back jobs at shutdown."""

    def __init__(self, *, max_retries: int, backoff_s: float, max_backoff_s: float = 60.0):
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.max_backoff_s = max_backoff_s

    def get_retry_decision(
        self, *, exception: BaseException, job: pjobs.Job
    ) -> RetryDecision | None:
        if isinstance(exception, asyncio.CancelledError):  # our worker is stopping
            return RetryDecision(retry_in={"seconds": 0})
        if not is_transient(exception) or job.attempts >= self.max_retries:
            return None
        wait = min(self.max_backoff_s, self.backoff_s * 2**job.attempts)
        return RetryDecision(retry_in={"seconds": wait})


class TaskWorker:
    """Owns a procrastinate App, its worker task and the sweeper task."""

    def __init__(
        self,
        *,
        connector: BaseAsyncConnector,
        runner: TaskRunner,
        store: TaskStore,
        db: Database,
        concurrency: int,
        stalled_after_s: float,
        max_retries: int,
        retry_backoff_s: float,
        shutdown_grace_s: float,
        name: str = "fluentpro-worker",
    ) -> None:
        self.runner = runner
        self._store = store
        self._db = db
        self._concurrency = concurrency
        self._stalled_after_s = stalled_after_s
        self._max_retries = max_retries
        self._shutdown_grace_s = shutdown_grace_s
        self._name = name
        self.retry = TransientRetry(max_retries=max_retries, backoff_s=retry_backoff_s)
        self.app = procrastinate.App(connector=connector)
        self.app.task(name=JOB_TASK_NAME, pass_context=True, retry=self.retry, queue=DEFAULT_QUEUE)(
            self._job
        )
        self._tasks: list[asyncio.Task[Any]] = []
        self.swept = 0  # jobs retried or failed by this worker's sweeper

    async def _job(self, context: JobContext, task_id: str) -> None:
        """The one procrastinate task: run an attempt of the task row ``task_id``."""
        job = context.job

        def will_retry(exc: BaseException) -> bool:
            return self.retry.get_retry_decision(exception=exc, job=job) is not None

        await self.runner.run(task_id, will_retry=will_retry)

    async def start(self) -> None:
        """Open the connector, then start the worker and the sweeper in the background."""
        await self.app.open_async()
        poll = max(0.5, min(5.0, self._stalled_after_s / 3))
        worker = self.app.run_worker_async(
            queues=[DEFAULT_QUEUE],
            name=self._name,
            concurrency=self._concurrency,
            install_signal_handlers=False,
            update_heartbeat_interval=max(0.25, self._stalled_after_s / 4),
            stalled_worker_timeout=self._stalled_after_s,
            fetch_job_polling_interval=poll,
            shutdown_graceful_timeout=self._shutdown_grace_s,
            delete_jobs="successful",
        )
        self._tasks = [
            asyncio.create_task(worker, name="procrastinate-worker"),
            asyncio.create_task(self._sweep_loop(), name="stalled-job-sweeper"),
        ]

    async def stop(self) -> None:
        """Stop the sweeper, then the worker (running jobs get the grace period, then are
        handed back to the queue), then close the connector."""
        for task in reversed(self._tasks):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self.app.close_async()

    async def _sweep_loop(self) -> None:
        interval = max(0.25, self._stalled_after_s / 3)
        while True:
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:  # PostgreSQL briefly away: try again next round
                log.warning("stalled-job sweep failed", exc_info=True)
            await asyncio.sleep(interval)

    async def sweep(self) -> int:
        """One round: recover stalled jobs and lost task rows. Returns how many it moved."""
        moved = 0
        async with self._db.transaction() as cur:
            await cur.execute(q.SWEEP_LOCK)
            if not (await cur.fetchone())["ok"]:
                return 0  # another process is sweeping right now
            stalled = await self.app.job_manager.get_stalled_jobs(
                queue=DEFAULT_QUEUE,
                task_name=JOB_TASK_NAME,
                seconds_since_heartbeat=self._stalled_after_s,
            )
            for job in stalled:
                moved += await self._recover(job)
            await self.app.job_manager.prune_stalled_workers(self._stalled_after_s)
            for row in await self._db.fetch_all(
                q.LOST_TASKS, {"older_than_s": self._stalled_after_s}
            ):
                message = "The task's job was lost; start the task again."
                if await self._store.finish(
                    str(row["id"]),
                    FAILED,
                    error={"code": "job_lost", "message": message},
                    message=message,
                ):
                    moved += 1
        self.swept += moved
        return moved

    async def _recover(self, job: pjobs.Job) -> int:
        task_id = str(job.task_kwargs.get("task_id", ""))
        if job.id is None or not task_id:
            return 0
        if job.attempts < self._max_retries:
            message = "The worker running this task stopped responding; retrying."
            await self._store.requeue(task_id, message=message)
            try:
                await self.app.job_manager.retry_job(job)
            except pexc.ConnectorException:  # no longer 'doing': someone else moved it
                return 0
            log.warning("task %s: worker lost, job %s retried", task_id, job.id)
            return 1
        try:
            await self.app.job_manager.finish_job(job, pjobs.Status.FAILED, delete_job=False)
        except pexc.ConnectorException:
            return 0
        message = "The worker running this task stopped responding, too many times."
        await self._store.finish(
            task_id, FAILED, error={"code": "worker_lost", "message": message}, message=message
        )
        log.warning("task %s: worker lost, retries spent, failed", task_id)
        return 1
