"""SQL for long-running tasks (named constants, ``%(name)s`` placeholders).

A task row follows its procrastinate job. ``attempts`` is the fencing token of a run:
every write of a run names the attempt it started, so a run that was presumed dead (its
worker stopped heartbeating) and retried elsewhere can no longer touch the row.
"""

from __future__ import annotations

# Without the result: lists stay small (a batch result is megabytes).
TASK_COLUMNS = (
    "id, user_id, kind, params, status, progress, message, step, error, attempts, "
    "cancel_requested, job_id, created_at, started_at, finished_at, updated_at"
)
# One task with its result as JSON text: handed to the client as it is, never parsed.
TASK_WITH_RESULT = TASK_COLUMNS + ", result::text AS result_json"

# Serialises task creation per user so the limit check and the insert are atomic.
LOCK_USER = "SELECT pg_advisory_xact_lock(hashtextextended(%(user_id)s::text, 7302145002))"

COUNT_ACTIVE_FOR_USER = """
SELECT count(*) AS n FROM tasks
WHERE user_id = %(user_id)s AND status IN ('queued', 'running')
"""

INSERT_TASK = (
    """
INSERT INTO tasks (id, user_id, kind, params, job_id)
VALUES (%(id)s, %(user_id)s, %(kind)s, %(params)s::jsonb, %(job_id)s)
RETURNING """
    + TASK_COLUMNS
)

TASK_FOR_USER = (
    "SELECT " + TASK_WITH_RESULT + " FROM tasks WHERE id = %(id)s AND user_id = %(user_id)s"
)

LIST_FIRST_PAGE = (
    "SELECT "
    + TASK_COLUMNS
    + """ FROM tasks WHERE user_id = %(user_id)s
ORDER BY created_at DESC, id DESC LIMIT %(limit)s"""
)

LIST_AFTER_CURSOR = (
    "SELECT "
    + TASK_COLUMNS
    + """ FROM tasks WHERE user_id = %(user_id)s
  AND (created_at, id) < (%(created_at)s::timestamptz, %(id)s::uuid)
ORDER BY created_at DESC, id DESC LIMIT %(limit)s"""
)

LOCK_TASK_FOR_USER = """
SELECT id, status, job_id FROM tasks WHERE id = %(id)s AND user_id = %(user_id)s FOR UPDATE
"""

REQUEST_CANCEL = """
UPDATE tasks SET cancel_requested = true, updated_at = now()
WHERE id = %(id)s AND status IN ('queued', 'running')
RETURNING status
"""

# A run starts: the attempt number it gets is its fencing token.
START_ATTEMPT = """
UPDATE tasks
SET status = 'running', attempts = attempts + 1, started_at = COALESCE(started_at, now()),
    message = %(message)s, step = %(step)s, updated_at = now()
WHERE id = %(id)s AND status IN ('queued', 'running')
RETURNING id, user_id, kind, params, attempts, cancel_requested, progress
"""

# Progress never goes backwards, even across retries.
PROGRESS = """
UPDATE tasks
SET progress = GREATEST(progress, %(progress)s), message = %(message)s, step = %(step)s,
    updated_at = now()
WHERE id = %(id)s AND status = 'running' AND attempts = %(attempt)s
RETURNING progress, cancel_requested
"""

CANCEL_REQUESTED = """
SELECT cancel_requested FROM tasks
WHERE id = %(id)s AND status = 'running' AND attempts = %(attempt)s
"""

# The one transition to a final state; only the writer that makes it publishes the event.
FINISH = """
UPDATE tasks
SET status = %(status)s, error = %(error)s::jsonb,
    result = CASE WHEN %(status)s = 'succeeded'
                  THEN COALESCE(result, '{}'::jsonb) || %(result)s::jsonb END,
    progress = CASE WHEN %(status)s = 'succeeded' THEN 100 ELSE progress END,
    message = %(message)s, finished_at = now(), updated_at = now()
WHERE id = %(id)s AND status IN ('queued', 'running')
  AND (%(attempt)s::integer IS NULL OR attempts = %(attempt)s)
RETURNING id, status, progress, step, finished_at
"""

# Back to the queue for another attempt (transient failure, or the worker was lost).
REQUEUE = """
UPDATE tasks SET status = 'queued', message = %(message)s, updated_at = now()
WHERE id = %(id)s AND status = 'running'
  AND (%(attempt)s::integer IS NULL OR attempts = %(attempt)s)
RETURNING progress, step
"""

# Tasks whose job is no longer queued or running (or vanished): they can never finish.
LOST_TASKS = """
SELECT t.id FROM tasks t
WHERE t.status IN ('queued', 'running')
  AND t.updated_at < now() - make_interval(secs => %(older_than_s)s)
  AND NOT EXISTS (
      SELECT 1 FROM procrastinate_jobs j
      WHERE j.id = t.job_id AND j.status IN ('todo', 'doing')
  )
LIMIT 100
"""

COUNT_BY_STATUS = """
SELECT status, count(*) AS n FROM tasks WHERE status IN ('queued', 'running') GROUP BY status
"""

# One sweeper at a time across all processes (held for the sweep's transaction).
SWEEP_LOCK = "SELECT pg_try_advisory_xact_lock(7302145003) AS ok"

# A large result is written in pieces before the final UPDATE (which merges its summary
# keys into it), so no single statement carries megabytes through the driver at once.
STAGE_RESULT_FIRST = """
UPDATE tasks SET result = jsonb_build_object(%(key)s::text, %(chunk)s::jsonb)
WHERE id = %(id)s AND status = 'running' AND attempts = %(attempt)s
"""
STAGE_RESULT_APPEND = """
UPDATE tasks
SET result = jsonb_set(result, ARRAY[%(key)s::text], (result -> %(key)s) || %(chunk)s::jsonb)
WHERE id = %(id)s AND status = 'running' AND attempts = %(attempt)s
"""
