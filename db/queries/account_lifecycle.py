"""SQL for the account lifecycle: password change, session list and revocation, deletion."""

from __future__ import annotations

PASSWORD_OF_USER = "SELECT email, password_hash FROM users WHERE id = %(id)s"

SET_PASSWORD = """
UPDATE users SET password_hash = %(password_hash)s, updated_at = now() WHERE id = %(id)s
"""

# The sessions a user can still use (not revoked, neither expiry reached).
LIVE_SESSIONS = """
SELECT id, created_at, last_seen_at, user_agent FROM auth_sessions
WHERE user_id = %(user_id)s AND revoked_at IS NULL AND expires_at > now()
  AND last_seen_at > now() - make_interval(secs => %(idle_s)s)
ORDER BY last_seen_at DESC, id
LIMIT 500
"""

REVOKE_OWN_SESSION = """
UPDATE auth_sessions SET revoked_at = now()
WHERE id = %(id)s AND user_id = %(user_id)s AND revoked_at IS NULL
RETURNING id, token_hash
"""

# Every live session of the user but ``keep`` (NULL: all of them).
REVOKE_OTHER_SESSIONS = """
UPDATE auth_sessions SET revoked_at = now()
WHERE user_id = %(user_id)s AND revoked_at IS NULL
  AND (%(keep)s::uuid IS NULL OR id <> %(keep)s::uuid)
RETURNING id, token_hash
"""

ALL_SESSIONS_FOR_UPDATE = """
SELECT id, token_hash FROM auth_sessions WHERE user_id = %(user_id)s FOR UPDATE
"""

TASK_IDS_OF_USER = "SELECT id FROM tasks WHERE user_id = %(user_id)s"

# Every table holding the user's rows references users(id) ON DELETE CASCADE
# (db/migrations/0001_core.sql): sessions, tasks, paths, interactions, recommendations.
DELETE_USER = "DELETE FROM users WHERE id = %(id)s RETURNING id"
