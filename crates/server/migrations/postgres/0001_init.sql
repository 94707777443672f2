-- OpenVMP schema for PostgreSQL (scale-out). Same tables and meaning as the
-- SQLite migrations 0001-0003. Never edit once merged; add a new file.

CREATE TABLE merchants (
    user_confirm_key TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    secret           TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('active', 'disabled')),
    created_at       BIGINT NOT NULL
);

CREATE TABLE gateway_settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- Each starting instance takes the next value for its eft_trade_no node id.
CREATE SEQUENCE gateway_node_ids;

CREATE TABLE orders (
    eft_trade_no     TEXT PRIMARY KEY,
    user_confirm_key TEXT NOT NULL REFERENCES merchants (user_confirm_key),
    out_trade_no     TEXT NOT NULL,
    fingerprint      TEXT NOT NULL,
    service          TEXT NOT NULL,
    pay_type         TEXT NOT NULL,
    wallet           TEXT NOT NULL,
    pay_scene        TEXT NOT NULL,
    buyer_type       TEXT NOT NULL,
    amount_minor     BIGINT NOT NULL CHECK (amount_minor > 0),
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
    active_time      BIGINT NOT NULL,
    request_time     TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    state            TEXT NOT NULL DEFAULT 'PENDING',
    final_at         BIGINT,
    transaction_id   TEXT,
    card_scheme      TEXT,
    refunded_minor   BIGINT NOT NULL DEFAULT 0 CHECK (refunded_minor <= amount_minor),
    UNIQUE (user_confirm_key, out_trade_no)
);

CREATE INDEX orders_pending_by_expiry ON orders (expires_at) WHERE state = 'PENDING';

CREATE TABLE notifications (
    id               BIGSERIAL PRIMARY KEY,
    eft_trade_no     TEXT NOT NULL REFERENCES orders (eft_trade_no),
    user_confirm_key TEXT NOT NULL,
    url              TEXT NOT NULL,
    trade_status     TEXT NOT NULL,
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    lease_until      BIGINT,
    created_at       BIGINT NOT NULL,
    delivered_at     BIGINT
);

CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notifications_by_order ON notifications (eft_trade_no);

CREATE TABLE notification_attempts (
    id              BIGSERIAL PRIMARY KEY,
    notification_id BIGINT NOT NULL REFERENCES notifications (id),
    attempt         BIGINT NOT NULL,
    attempted_at    BIGINT NOT NULL,
    http_status     BIGINT,
    latency_ms      BIGINT NOT NULL,
    outcome         TEXT NOT NULL CHECK (outcome IN ('delivered', 'rejected', 'error')),
    excerpt         TEXT NOT NULL
);

CREATE INDEX notification_attempts_by_notification ON notification_attempts (notification_id);

CREATE TABLE refunds (
    id               BIGSERIAL PRIMARY KEY,
    eft_trade_no     TEXT NOT NULL REFERENCES orders (eft_trade_no),
    user_confirm_key TEXT NOT NULL,
    out_refund_no    TEXT NOT NULL,
    fingerprint      TEXT NOT NULL,
    service          TEXT NOT NULL,
    amount_minor     BIGINT NOT NULL CHECK (amount_minor > 0),
    amount_text      TEXT NOT NULL,
    reason           TEXT,
    status           TEXT NOT NULL CHECK (status IN ('SUCCESS', 'PROCESSING', 'FAIL')),
    trade_status     TEXT NOT NULL,
    notify_url       TEXT,
    created_at       BIGINT NOT NULL,
    complete_after   BIGINT,
    completed_at     BIGINT,
    UNIQUE (user_confirm_key, out_refund_no)
);

CREATE INDEX refunds_by_order ON refunds (eft_trade_no);
CREATE INDEX refunds_processing ON refunds (complete_after) WHERE status = 'PROCESSING';
