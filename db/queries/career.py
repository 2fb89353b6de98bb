"""SQL of the career features: stored recommendations, learning paths, course search."""

from __future__ import annotations

from db.pool import Prepared

USER_PROFILE = "SELECT profile FROM users WHERE id = %(user_id)s"

INSERT_LEARNING_PATH = """
INSERT INTO learning_paths (user_id, target_role, timeline_weeks, milestones, skill_gaps, source)
VALUES (%(user_id)s, %(target_role)s::jsonb, %(timeline_weeks)s, %(milestones)s::jsonb,
        %(skill_gaps)s::jsonb, %(source)s)
RETURNING id, target_role, timeline_weeks, milestones, skill_gaps, source, created_at
"""

_PATH_COLUMNS = "id, target_role, timeline_weeks, milestones, skill_gaps, source, created_at"

# The hot read (GET /learning-paths/{id}), prepared once per connection. The stored JSON
# documents come back as text, to be spliced into the response as they are (no decoding
# into Python objects and back); jsonb's text form keeps the keys in the order psycopg2's
# decoder would have produced. weekly_hours is the JSON literal inside target_role (NULL
# when absent). Another user's path is no row, like a missing one.
GET_LEARNING_PATH_JSON = Prepared(
    name="fp_get_learning_path_json",
    params=("id", "user_id"),
    types=("uuid", "uuid"),
    body="""
SELECT target_role::text, timeline_weeks, (target_role -> 'weekly_hours')::text,
       milestones::text, skill_gaps::text, source, created_at
FROM learning_paths
WHERE id = $1 AND user_id = $2
""",
)

# Newest first; keyset pagination on (created_at, id).
LIST_LEARNING_PATHS = (
    "SELECT "
    + _PATH_COLUMNS
    + """
FROM learning_paths
WHERE user_id = %(user_id)s
  AND (%(after_at)s::timestamptz IS NULL OR (created_at, id) < (%(after_at)s, %(after_id)s::uuid))
ORDER BY created_at DESC, id DESC
LIMIT %(limit)s
"""
)

_COURSE_COLUMNS = """id::text AS id, slug, title, description, provider, url,
       duration_hours::float8 AS duration_hours, difficulty, skills_taught, prerequisites"""

# Full-text search ranked by ts_rank (then slug); keyset pagination on (rank, slug).
SEARCH_COURSES_RANKED = (
    "SELECT * FROM (SELECT "
    + _COURSE_COLUMNS
    + """,
       ts_rank(search, websearch_to_tsquery('english', %(q)s))::float8 AS rank
FROM courses
WHERE search @@ websearch_to_tsquery('english', %(q)s)
  AND (%(skills)s::text[] IS NULL OR skills_taught @> %(skills)s::text[])
  AND (%(difficulty)s::text IS NULL OR difficulty = %(difficulty)s)
) ranked
WHERE %(after_rank)s::float8 IS NULL
   OR rank < %(after_rank)s OR (rank = %(after_rank)s AND slug > %(after_slug)s)
ORDER BY rank DESC, slug
LIMIT %(limit)s
"""
)

# No query text: catalog order (slug); keyset pagination on slug.
SEARCH_COURSES_PLAIN = (
    "SELECT "
    + _COURSE_COLUMNS
    + """
FROM courses
WHERE (%(skills)s::text[] IS NULL OR skills_taught @> %(skills)s::text[])
  AND (%(difficulty)s::text IS NULL OR difficulty = %(difficulty)s)
  AND (%(after_slug)s::text IS NULL OR slug > %(after_slug)s)
ORDER BY slug
LIMIT %(limit)s
"""
)
