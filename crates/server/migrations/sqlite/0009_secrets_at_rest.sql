-- Secrets at rest and secret rotation (docs/architecture.md "Secrets at rest").
-- Never edit once merged; add a new file.

-- Master key versions: each known by a check value (an HMAC of a fixed text
-- under the key), never by the key. Secrets are sealed under the newest
-- version; a rotation retires the older ones once nothing uses them.
CREATE TABLE master_keys (
    version    INTEGER PRIMARY KEY NOT NULL CHECK (version > 0),
    key_check  TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    retired_at INTEGER
);

-- A rotation keeps the previous secret (sealed like `secret`) valid until
-- previous_until; while previous_signs is 1 it also signs notifications
-- and return_url payloads (until `vmp merchant promote-secret`).
ALTER TABLE merchants ADD COLUMN previous_secret TEXT;
ALTER TABLE merchants ADD COLUMN previous_until INTEGER;
ALTER TABLE merchants ADD COLUMN previous_signs INTEGER NOT NULL DEFAULT 0 CHECK (previous_signs IN (0, 1));
