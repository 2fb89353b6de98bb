"""SQL for the onboarding analysis (one round trip per analysis)."""

from __future__ import annotations

ONBOARDING_STATE = """
SELECT u.profile,
       u.created_at,
       now() AS now,
       (SELECT min(r.created_at) FROM recommendations r WHERE r.user_id = u.id)
           AS first_recommendation,
       (SELECT min(p.created_at) FROM learning_paths p WHERE p.user_id = u.id) AS first_path,
       (SELECT min(i.created_at) FROM interactions i
        WHERE i.user_id = u.id AND i.type = 'start') AS first_start,
       (SELECT min(i.created_at) FROM interactions i
        WHERE i.user_id = u.id AND i.type = 'complete') AS first_complete,
       (SELECT count(*) FROM interactions i
        WHERE i.user_id = u.id AND i.created_at >= now() - interval '7 days') AS recent_count,
       (SELECT count(DISTINCT date_trunc('day', i.created_at)) FROM interactions i
        WHERE i.user_id = u.id AND i.created_at >= now() - interval '14 days') AS active_days
FROM users u
WHERE u.id = %(user_id)s
"""
