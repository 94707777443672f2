-- Developer console (issue #21); same tables and meaning as SQLite's
-- 0008_console.sql. Never edit once merged; add a new file.

CREATE TABLE request_log (
    id            BIGSERIAL PRIMARY KEY,
    at_ms         BIGINT NOT NULL,
    latency_us    BIGINT NOT NULL,
    endpoint      TEXT NOT NULL,
    service       TEXT,
    merchant      TEXT,
    out_trade_no  TEXT,
    eft_trade_no  TEXT,
    return_status TEXT NOT NULL,
    reason        TEXT,
    request       TEXT,
    answer        TEXT,
    sign_hint     TEXT
);
CREATE INDEX request_log_by_order ON request_log (merchant, out_trade_no);

CREATE TABLE order_events (
    id           BIGSERIAL PRIMARY KEY,
    eft_trade_no TEXT NOT NULL,
    at_ms        BIGINT NOT NULL,
    kind         TEXT NOT NULL,
    detail       TEXT NOT NULL
);
CREATE INDEX order_events_by_order ON order_events (eft_trade_no);

ALTER TABLE notification_attempts ADD COLUMN body TEXT;

CREATE INDEX orders_final_by_state ON orders (state, eft_trade_no) WHERE state <> 'PENDING';
CREATE INDEX notifications_done ON notifications (status, id) WHERE status <> 'pending';
