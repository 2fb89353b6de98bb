"""SQL of the administrators' task table (every user's tasks, by status)."""

from __future__ import annotations

# The operator's view: who, what, how far; never the params or the result (user data).
ADMIN_LIST = """
SELECT t.id, t.kind, t.status, t.progress, t.message, t.step, t.error, t.attempts,
       t.cancel_requested, t.created_at, t.started_at, t.finished_at, t.user_id, u.email
FROM tasks t JOIN users u ON u.id = t.user_id
WHERE t.status = ANY(%(statuses)s)
ORDER BY t.created_at DESC, t.id DESC
LIMIT %(limit)s
"""

OWNER_OF_TASK = "SELECT user_id::text AS user_id FROM tasks WHERE id = %(id)s"
