"""SQL for learning activity: interactions, adaptive recommendations, course look-ups."""

from __future__ import annotations

COURSE_COLUMNS = (
    "id, slug, title, description, provider, url, duration_hours, difficulty, "
    "skills_taught, prerequisites"
)

COURSE_EXISTS = "SELECT 1 FROM courses WHERE id = %(id)s"

COURSES_BY_IDS = "SELECT " + COURSE_COLUMNS + " FROM courses WHERE id = ANY(%(ids)s::uuid[])"

INSERT_INTERACTION = """
INSERT INTO interactions (user_id, type, course_id, value, payload)
VALUES (%(user_id)s, %(type)s, %(course_id)s, %(value)s, %(payload)s::jsonb)
RETURNING id, created_at
"""

# The user's recent interactions, newest first (the adaptive engine's input).
RECENT_INTERACTIONS = """
SELECT id, type, course_id, value, created_at
FROM interactions
WHERE user_id = %(user_id)s AND created_at >= now() - make_interval(days => %(days)s)
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s
"""

# Goal-nudge inputs: goals, and the last time the user made progress (else sign-up time).
GOAL_STATE = """
SELECT u.profile -> 'goals' AS goals,
       u.created_at,
       (SELECT max(i.created_at) FROM interactions i
        WHERE i.user_id = u.id AND i.type IN ('start', 'complete', 'quiz_result')) AS last_progress,
       now() AS now
FROM users u WHERE u.id = %(user_id)s
"""

# An easier course on the skills an advanced course needs (its prerequisites first).
EASIER_COURSE = (
    "SELECT "
    + COURSE_COLUMNS
    + """
FROM courses
WHERE difficulty <> 'advanced'
  AND skills_taught && %(skills)s::text[]
  AND NOT (id = ANY(%(exclude)s::uuid[]))
ORDER BY (skills_taught && %(prerequisites)s::text[]) DESC,
         CASE difficulty WHEN 'intermediate' THEN 0 ELSE 1 END,
         duration_hours, slug
LIMIT 1
"""
)

# The next level up on the same skills.
NEXT_LEVEL_COURSE = (
    "SELECT "
    + COURSE_COLUMNS
    + """
FROM courses
WHERE difficulty = %(difficulty)s
  AND skills_taught && %(skills)s::text[]
  AND NOT (id = ANY(%(exclude)s::uuid[]))
ORDER BY cardinality(ARRAY(SELECT unnest(skills_taught) INTERSECT
                           SELECT unnest(%(skills)s::text[]))) DESC,
         duration_hours, slug
LIMIT 1
"""
)

# Review material: an easier course on the same skills, else the course itself.
REVIEW_COURSE = (
    "SELECT "
    + COURSE_COLUMNS
    + """
FROM courses
WHERE skills_taught && %(skills)s::text[]
  AND (difficulty = ANY(%(difficulties)s::text[]))
  AND id <> %(course_id)s
ORDER BY CASE difficulty WHEN %(difficulty)s THEN 1 ELSE 0 END, duration_hours, slug
LIMIT 1
"""
)

# A course whose text matches a goal (for nudges).
COURSE_FOR_GOAL = (
    "SELECT "
    + COURSE_COLUMNS
    + """
FROM courses
WHERE search @@ plainto_tsquery('english', %(goal)s)
ORDER BY ts_rank(search, plainto_tsquery('english', %(goal)s)) DESC,
         CASE difficulty WHEN 'beginner' THEN 0 WHEN 'intermediate' THEN 1 ELSE 2 END, slug
LIMIT 1
"""
)

ADAPTIVE_COLUMNS = (
    "id, recommendation_type, content, trigger_reason, urgency_level, expected_impact, "
    "metadata, created_at"
)

# Idempotent per (user, trigger): a repeated burst inserts nothing and returns no row.
INSERT_ADAPTIVE = (
    """
INSERT INTO adaptive_recommendations
    (user_id, recommendation_type, content, trigger_reason, trigger_key, urgency_level,
     expected_impact, metadata)
VALUES (%(user_id)s, %(recommendation_type)s, %(content)s::jsonb, %(trigger_reason)s,
        %(trigger_key)s, %(urgency_level)s, %(expected_impact)s, %(metadata)s::jsonb)
ON CONFLICT (user_id, trigger_key) DO NOTHING
RETURNING """
    + ADAPTIVE_COLUMNS
)

LIST_ADAPTIVE_FIRST = (
    "SELECT "
    + ADAPTIVE_COLUMNS
    + """
FROM adaptive_recommendations
WHERE user_id = %(user_id)s
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s
"""
)

LIST_ADAPTIVE_AFTER = (
    "SELECT "
    + ADAPTIVE_COLUMNS
    + """
FROM adaptive_recommendations
WHERE user_id = %(user_id)s AND (created_at, id) < (%(created_at)s::timestamptz, %(id)s::uuid)
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s
"""
)
