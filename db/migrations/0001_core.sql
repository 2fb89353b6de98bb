-- Accounts, auth sessions, catalog, learning activity, recommendations, tasks.

CREATE TABLE users (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    email text NOT NULL,
    password_hash text NOT NULL,
    display_name text NOT NULL DEFAULT '',
    role text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
    profile jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX users_email_lower ON users (lower(email));

CREATE TABLE auth_sessions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    user_agent text NOT NULL DEFAULT ''
);
CREATE INDEX auth_sessions_user ON auth_sessions (user_id);

-- Catalog (seed data shipped in db/seed/, loaded idempotently at start-up).
CREATE TABLE skills (
    id text PRIMARY KEY,
    name text NOT NULL,
    category text NOT NULL DEFAULT '',
    aliases text[] NOT NULL DEFAULT '{}'
);

CREATE TABLE roles (
    id uuid PRIMARY KEY,
    slug text NOT NULL UNIQUE,
    title text NOT NULL,
    family text NOT NULL,
    description text NOT NULL,
    required_skills jsonb NOT NULL DEFAULT '[]'::jsonb,
    experience_level text NOT NULL,
    related_roles text[] NOT NULL DEFAULT '{}'
);

CREATE TABLE courses (
    id uuid PRIMARY KEY,
    slug text NOT NULL UNIQUE,
    title text NOT NULL,
    description text NOT NULL,
    provider text NOT NULL,
    url text NOT NULL,
    duration_hours numeric NOT NULL,
    difficulty text NOT NULL CHECK (difficulty IN ('beginner', 'intermediate', 'advanced')),
    skills_taught text[] NOT NULL DEFAULT '{}',
    prerequisites text[] NOT NULL DEFAULT '{}',
    search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', title), 'A') ||
        setweight(to_tsvector('english', description), 'B')
    ) STORED
);
CREATE INDEX courses_search ON courses USING gin (search);
CREATE INDEX courses_skills ON courses USING gin (skills_taught);

-- Career recommendations and learning paths.
CREATE TABLE recommendations (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind text NOT NULL,
    source text NOT NULL,
    inputs jsonb NOT NULL,
    result jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX recommendations_user ON recommendations (user_id, created_at DESC, id DESC);

CREATE TABLE learning_paths (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    target_role jsonb NOT NULL,
    timeline_weeks integer NOT NULL,
    milestones jsonb NOT NULL,
    skill_gaps jsonb NOT NULL,
    source text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX learning_paths_user ON learning_paths (user_id, created_at DESC, id DESC);

-- Learning activity.
CREATE TABLE interactions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    type text NOT NULL,
    course_id uuid,
    value double precision,
    payload jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX interactions_user ON interactions (user_id, created_at DESC);

CREATE TABLE learning_sessions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    course_id uuid,
    started_at timestamptz NOT NULL DEFAULT now(),
    ended_at timestamptz,
    minutes integer NOT NULL DEFAULT 0
);
CREATE INDEX learning_sessions_user ON learning_sessions (user_id, started_at DESC);

CREATE TABLE adaptive_recommendations (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    recommendation_type text NOT NULL,
    content jsonb NOT NULL,
    trigger_reason text NOT NULL,
    trigger_key text NOT NULL,
    urgency_level text NOT NULL,
    expected_impact text NOT NULL,
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, trigger_key)
);
CREATE INDEX adaptive_user ON adaptive_recommendations (user_id, created_at DESC, id DESC);

-- Long-running tasks (the job itself lives in procrastinate's tables).
CREATE TABLE tasks (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind text NOT NULL,
    params jsonb NOT NULL,
    status text NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    progress integer NOT NULL DEFAULT 0,
    message text NOT NULL DEFAULT '',
    step text NOT NULL DEFAULT '',
    result jsonb,
    error jsonb,
    attempts integer NOT NULL DEFAULT 0,
    cancel_requested boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    finished_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tasks_user ON tasks (user_id, created_at DESC, id DESC);
CREATE INDEX tasks_status ON tasks (status) WHERE status IN ('queued', 'running');
