"""SQL for users and auth sessions (named constants, ``%(name)s`` placeholders)."""

from __future__ import annotations

USER_COLUMNS = "id, email, display_name, role, profile, created_at"

INSERT_USER = """
INSERT INTO users (email, password_hash, display_name)
VALUES (%(email)s, %(password_hash)s, %(display_name)s)
RETURNING id, email, display_name, role, profile, created_at
"""

EMAIL_TAKEN = "SELECT 1 FROM users WHERE lower(email) = lower(%(email)s)"

USER_BY_EMAIL = """
SELECT id, email, password_hash, display_name, role, profile, created_at
FROM users WHERE lower(email) = lower(%(email)s)
"""

USER_BY_ID = """
SELECT id, email, display_name, role, profile, created_at FROM users WHERE id = %(id)s
"""

UPDATE_PASSWORD_HASH = """
UPDATE users SET password_hash = %(new_hash)s, updated_at = now()
WHERE id = %(id)s AND password_hash = %(old_hash)s
"""

UPDATE_ME = """
UPDATE users
SET display_name = COALESCE(%(display_name)s, display_name),
    profile = profile || %(profile)s::jsonb,
    updated_at = now()
WHERE id = %(id)s
RETURNING id, email, display_name, role, profile, created_at
"""

SET_ROLE = """
UPDATE users SET role = %(role)s, updated_at = now() WHERE id = %(id)s
RETURNING id, email, display_name, role, profile, created_at
"""

INSERT_SESSION = """
INSERT INTO auth_sessions (user_id, token_hash, expires_at, user_agent)
VALUES (%(user_id)s, %(token_hash)s, now() + make_interval(secs => %(absolute_s)s),
        %(user_agent)s)
RETURNING id, LEAST(expires_at, last_seen_at + make_interval(secs => %(idle_s)s)) AS expires_at
"""

# Look a live session up and record its use in one statement (idle expiry slides).
TOUCH_SESSION = """
UPDATE auth_sessions AS s
SET last_seen_at = now()
FROM users AS u
WHERE s.token_hash = %(token_hash)s
  AND u.id = s.user_id
  AND s.revoked_at IS NULL
  AND s.expires_at > now()
  AND s.last_seen_at > now() - make_interval(secs => %(idle_s)s)
RETURNING s.id AS session_id, s.user_id, u.email, u.display_name, u.role, u.profile,
          u.created_at, LEAST(s.expires_at, now() + make_interval(secs => %(idle_s)s)) AS expires_at
"""

REVOKE_SESSION = """
UPDATE auth_sessions SET revoked_at = now()
WHERE id = %(id)s AND revoked_at IS NULL
RETURNING token_hash
"""

LIVE_TOKEN_HASHES = """
SELECT token_hash FROM auth_sessions
WHERE user_id = %(user_id)s AND revoked_at IS NULL AND expires_at > now()
"""

LIVE_SESSION_IDS = """
SELECT id FROM auth_sessions
WHERE user_id = %(user_id)s AND revoked_at IS NULL AND expires_at > now()
"""
