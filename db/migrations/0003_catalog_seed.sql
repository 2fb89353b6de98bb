-- Which version of the catalog seed (db/seed/*.json) is loaded: start-ups skip the upsert
-- when the files' checksum is unchanged.
CREATE TABLE catalog_seed_state (
    name text PRIMARY KEY,
    checksum text NOT NULL,
    loaded_at timestamptz NOT NULL DEFAULT now()
);
