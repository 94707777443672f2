-- OpenVMP embedded schema (SQLite). Never edit once merged; add a new file.

CREATE TABLE merchants (
    user_confirm_key TEXT PRIMARY KEY NOT NULL,
    name             TEXT NOT NULL,
    secret           TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    created_at       INTEGER NOT NULL
);

-- Gateway-wide values that every instance sharing the store must agree on
-- (e.g. the key that signs pay_apptrade links).
CREATE TABLE gateway_settings (
    name  TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

CREATE TABLE orders (
    eft_trade_no     TEXT PRIMARY KEY NOT NULL,
    user_confirm_key TEXT NOT NULL REFERENCES merchants (user_confirm_key),
    out_trade_no     TEXT NOT NULL,
    -- SHA-256 of the request's signed fields minus time/sign: tells an
    -- identical re-submission (replayed) from a conflicting one (code 03).
    fingerprint      TEXT NOT NULL,
    service          TEXT NOT NULL,
    pay_type         TEXT NOT NULL,
    wallet           TEXT NOT NULL,
    pay_scene        TEXT NOT NULL,
    buyer_type       TEXT NOT NULL,
    amount_minor     INTEGER NOT NULL CHECK (amount_minor > 0),
    amount_text      TEXT NOT NULL,
    currency         TEXT NOT NULL,
    subject          TEXT NOT NULL,
    body             TEXT,
    tid              TEXT,
    notify_url       TEXT,
    return_url       TEXT,
    lang             TEXT,
    scheme           TEXT,
    package_name     TEXT,
    app_link         TEXT,
    active_time      INTEGER NOT NULL,
    request_time     TEXT NOT NULL,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER NOT NULL,
    state            TEXT NOT NULL DEFAULT 'PENDING',
    UNIQUE (user_confirm_key, out_trade_no)
);
