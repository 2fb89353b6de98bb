"""procrastinate's queue on our PostgreSQL: its connector, and its queries on our transactions.

procrastinate's aiopg connector cannot run a query on an external connection (its
``*_with_connection`` methods raise), so a job cannot be deferred through its API inside
our own transaction. Creating a task must insert the task row and the job atomically,
so the two procrastinate statements we need (defer, cancel) run here on our cursor,
using procrastinate's own query texts and SQL functions.
"""

from __future__ import annotations

from typing import Any

from procrastinate import sql as procrastinate_sql
from procrastinate.contrib.aiopg import AiopgConnector
from psycopg2.extras import Json

from db.pool import PoolSettings, with_statement_timeout

DEFER_JOBS = procrastinate_sql.queries["defer_jobs"]
CANCEL_JOB = procrastinate_sql.queries["cancel_job"]
DEFAULT_QUEUE = "fluentpro"


def make_connector(settings: PoolSettings, *, maxsize: int = 4) -> AiopgConnector:
    """procrastinate's aiopg connector with its own small pool (dict rows, explicit timeouts).

    ``maxsize`` must be at least 2: one connection is held by LISTEN for new jobs.
    """
    return AiopgConnector(
        dsn=with_statement_timeout(
            settings.dsn,
            settings.statement_timeout_ms,
            settings.connect_timeout_s,
            settings.idle_in_transaction_timeout_ms,
        ),
        minsize=1,
        maxsize=max(2, maxsize),
        timeout=settings.timeout_s,
        pool_recycle=300,
    )


async def defer_job(
    cur: Any,
    *,
    task_name: str,
    args: dict[str, Any],
    queue: str = DEFAULT_QUEUE,
    priority: int = 0,
) -> int:
    """Enqueue one job on ``cur`` (inside the caller's transaction); returns the job id."""
    job = (queue, task_name, priority, None, None, Json(args), None)
    await cur.execute(DEFER_JOBS, {"jobs": [job]})
    row = await cur.fetchone()
    return int(row["id"] if isinstance(row, dict) else row[0])


async def cancel_queued_job(cur: Any, job_id: int) -> bool:
    """Cancel a job that no worker has taken yet; False when it is already running or done."""
    await cur.execute(CANCEL_JOB, {"job_id": job_id, "abort": False, "delete_job": False})
    row = await cur.fetchone()
    value = row["id"] if isinstance(row, dict) else (row[0] if row else None)
    return value is not None
