"""SQL of the catalog seed loader and of the catalog read at start-up."""

from __future__ import annotations

SEED_LOCK_ID = 7_302_145_003  # arbitrary, stable: "fluentpro catalog seed"

SEED_CHECKSUM = "SELECT checksum FROM catalog_seed_state WHERE name = %(name)s"

SEED_LOCK = "SELECT pg_advisory_xact_lock(%(lock_id)s)"

SEED_RECORD = """
INSERT INTO catalog_seed_state (name, checksum, loaded_at)
VALUES (%(name)s, %(checksum)s, now())
ON CONFLICT (name) DO UPDATE SET checksum = EXCLUDED.checksum, loaded_at = now()
"""

UPSERT_SKILLS = """
INSERT INTO skills (id, name, category, aliases)
SELECT s.id, s.name, coalesce(s.category, ''),
       coalesce(ARRAY(SELECT jsonb_array_elements_text(s.aliases)), '{}')
FROM jsonb_to_recordset(%(rows)s::jsonb)
     AS s(id text, name text, category text, aliases jsonb)
ON CONFLICT (id) DO UPDATE SET
    name = EXCLUDED.name, category = EXCLUDED.category, aliases = EXCLUDED.aliases
"""

UPSERT_ROLES = """
INSERT INTO roles (id, slug, title, family, description, required_skills, experience_level,
                   related_roles)
SELECT r.id, r.slug, r.title, r.family, r.description, coalesce(r.required_skills, '[]'),
       r.experience_level,
       coalesce(ARRAY(SELECT jsonb_array_elements_text(r.related_roles)), '{}')
FROM jsonb_to_recordset(%(rows)s::jsonb)
     AS r(id uuid, slug text, title text, family text, description text,
          required_skills jsonb, experience_level text, related_roles jsonb)
ON CONFLICT (id) DO UPDATE SET
    slug = EXCLUDED.slug, title = EXCLUDED.title, family = EXCLUDED.family,
    description = EXCLUDED.description, required_skills = EXCLUDED.required_skills,
    experience_level = EXCLUDED.experience_level, related_roles = EXCLUDED.related_roles
"""

UPSERT_COURSES = """
INSERT INTO courses (id, slug, title, description, provider, url, duration_hours, difficulty,
                     skills_taught, prerequisites)
SELECT c.id, c.slug, c.title, c.description, c.provider, c.url, c.duration_hours,
       c.difficulty,
       coalesce(ARRAY(SELECT jsonb_array_elements_text(c.skills_taught)), '{}'),
       coalesce(ARRAY(SELECT jsonb_array_elements_text(c.prerequisites)), '{}')
FROM jsonb_to_recordset(%(rows)s::jsonb)
     AS c(id uuid, slug text, title text, description text, provider text, url text,
          duration_hours numeric, difficulty text, skills_taught jsonb, prerequisites jsonb)
ON CONFLICT (id) DO UPDATE SET
    slug = EXCLUDED.slug, title = EXCLUDED.title, description = EXCLUDED.description,
    provider = EXCLUDED.provider, url = EXCLUDED.url, duration_hours = EXCLUDED.duration_hours,
    difficulty = EXCLUDED.difficulty, skills_taught = EXCLUDED.skills_taught,
    prerequisites = EXCLUDED.prerequisites
"""

ALL_SKILLS = "SELECT id, name, category, aliases FROM skills ORDER BY id"

ALL_ROLES = """
SELECT id::text AS id, slug, title, family, description, required_skills, experience_level,
       related_roles
FROM roles ORDER BY slug
"""

ALL_COURSES = """
SELECT id::text AS id, slug, title, description, provider, url,
       duration_hours::float8 AS duration_hours, difficulty, skills_taught, prerequisites
FROM courses ORDER BY slug
"""
