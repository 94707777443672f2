-- Secrets at rest and secret rotation (docs/architecture.md "Secrets at rest").
-- Same tables and meaning as SQLite's 0009. Never edit once merged; add a new file.

-- Master key versions: each known by a check value (an HMAC of a fixed text
-- under the key), never by the key. Secrets are sealed under the newest
-- version; a rotation retires the older ones once nothing uses them.
CREATE TABLE master_keys (
    version    BIGINT PRIMARY KEY CHECK (version > 0),
    key_check  TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    retired_at BIGINT
);

-- A rotation keeps the previous secret (sealed like `secret`) valid until
-- previous_until; while previous_signs is 1 it also signs notifications
-- and return_url payloads (until `vmp merchant promote-secret`).
ALTER TABLE merchants ADD COLUMN previous_secret TEXT;
ALTER TABLE merchants ADD COLUMN previous_until BIGINT;
ALTER TABLE merchants ADD COLUMN previous_signs BIGINT NOT NULL DEFAULT 0 CHECK (previous_signs IN (0, 1));
