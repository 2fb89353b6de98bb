"""SQL for the personal data export: each query yields one NDJSON line (JSON text) per row.

PostgreSQL builds the JSON, so the server only joins lines. The export transaction sets
``TimeZone = 'UTC'``, so timestamps come out as ISO 8601 with ``+00:00``.
"""

from __future__ import annotations

EXPORT_PROFILE = """
SELECT json_build_object(
    'type', 'profile',
    'exported_at', now(),
    'data', json_build_object(
        'id', id, 'email', email, 'display_name', display_name, 'role', role,
        'profile', profile, 'created_at', created_at, 'updated_at', updated_at
    )
)::text
FROM users WHERE id = %(user_id)s
"""

# Auth sessions (without token hashes) and learning sessions, told apart by data.kind.
EXPORT_SESSIONS = """
SELECT json_build_object('type', 'session', 'data', json_build_object(
    'kind', 'auth', 'id', id, 'created_at', created_at, 'last_seen_at', last_seen_at,
    'expires_at', expires_at, 'revoked_at', revoked_at, 'user_agent', user_agent
))::text
FROM auth_sessions WHERE user_id = %(user_id)s
UNION ALL
SELECT json_build_object('type', 'session', 'data', json_build_object(
    'kind', 'learning', 'id', id, 'course_id', course_id, 'started_at', started_at,
    'ended_at', ended_at, 'minutes', minutes
))::text
FROM learning_sessions WHERE user_id = %(user_id)s
"""

EXPORT_INTERACTIONS = """
SELECT json_build_object('type', 'interaction', 'data', row_to_json(i))::text
FROM (
    SELECT id, type, course_id, value, payload, created_at
    FROM interactions WHERE user_id = %(user_id)s
) i
"""

# Career recommendations and adaptive ones, told apart by data.origin.
EXPORT_RECOMMENDATIONS = """
SELECT json_build_object('type', 'recommendation', 'data', json_build_object(
    'origin', 'career', 'id', id, 'kind', kind, 'source', source, 'inputs', inputs,
    'result', result, 'created_at', created_at
))::text
FROM recommendations WHERE user_id = %(user_id)s
UNION ALL
SELECT json_build_object('type', 'recommendation', 'data', json_build_object(
    'origin', 'adaptive', 'id', id, 'recommendation_type', recommendation_type,
    'content', content, 'trigger_reason', trigger_reason, 'urgency_level', urgency_level,
    'expected_impact', expected_impact, 'metadata', metadata, 'created_at', created_at
))::text
FROM adaptive_recommendations WHERE user_id = %(user_id)s
"""

EXPORT_LEARNING_PATHS = """
SELECT json_build_object('type', 'learning_path', 'data', row_to_json(p))::text
FROM (
    SELECT id, target_role, timeline_weeks, milestones, skill_gaps, source, created_at
    FROM learning_paths WHERE user_id = %(user_id)s
) p
"""

EXPORT_TASKS = """
SELECT json_build_object('type', 'task', 'data', row_to_json(t))::text
FROM (
    SELECT id, kind, params, status, progress, message, step, result, error,
           created_at, started_at, finished_at
    FROM tasks WHERE user_id = %(user_id)s
) t
"""
