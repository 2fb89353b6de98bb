"""SQL for ``create-admin``: create an administrator, or promote an existing account."""

from __future__ import annotations

# Creates the account only if the address is free (NULL row: it exists).
INSERT_ADMIN = """
INSERT INTO users (email, password_hash, display_name, role)
VALUES (%(email)s, %(password_hash)s, %(display_name)s, 'admin')
ON CONFLICT (lower(email)) DO NOTHING
RETURNING id
"""

PROMOTE_EXISTING = """
UPDATE users SET role = 'admin', password_hash = %(password_hash)s, updated_at = now()
WHERE lower(email) = lower(%(email)s)
RETURNING id
"""

REVOKE_ALL_SESSIONS = """
UPDATE auth_sessions SET revoked_at = now()
WHERE user_id = %(user_id)s AND revoked_at IS NULL
RETURNING id, token_hash
"""
