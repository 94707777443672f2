-- Payment lifecycle: final states, the notification outbox and its attempts.

ALTER TABLE orders ADD COLUMN final_at INTEGER;
ALTER TABLE orders ADD COLUMN transaction_id TEXT;
ALTER TABLE orders ADD COLUMN card_scheme TEXT;

CREATE INDEX orders_pending_by_expiry ON orders (expires_at) WHERE state = 'PENDING';

-- Outbox: written in the same transaction as the state change it reports.
-- `payload` is the unsigned trade_status_sync message without `time`;
-- each attempt stamps a fresh `time` and signs it.
CREATE TABLE notifications (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    eft_trade_no     TEXT NOT NULL REFERENCES orders (eft_trade_no),
    user_confirm_key TEXT NOT NULL,
    url              TEXT NOT NULL,
    trade_status     TEXT NOT NULL,
    payload          TEXT NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER NOT NULL,
    lease_until      INTEGER,
    created_at       INTEGER NOT NULL,
    delivered_at     INTEGER
);

CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notifications_by_order ON notifications (eft_trade_no);

CREATE TABLE notification_attempts (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    notification_id INTEGER NOT NULL REFERENCES notifications (id),
    attempt         INTEGER NOT NULL,
    attempted_at    INTEGER NOT NULL,
    http_status     INTEGER,
    latency_ms      INTEGER NOT NULL,
    outcome         TEXT NOT NULL CHECK (outcome IN ('delivered', 'rejected', 'error')),
    excerpt         TEXT NOT NULL
);

CREATE INDEX notification_attempts_by_notification ON notification_attempts (notification_id);
