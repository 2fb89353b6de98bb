"""SQL used by the real-time layer (channel authorization)."""

TASK_OWNER = "SELECT user_id FROM tasks WHERE id = %(task_id)s"
