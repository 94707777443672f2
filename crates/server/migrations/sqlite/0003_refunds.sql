-- Refunds. `orders.refunded_minor` is the running total (applied and
-- in-progress refunds), checked against the order amount inside the
-- writer's transaction, so refunds can never exceed the order.

ALTER TABLE orders ADD COLUMN refunded_minor INTEGER NOT NULL DEFAULT 0;

CREATE TABLE refunds (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    eft_trade_no     TEXT NOT NULL REFERENCES orders (eft_trade_no),
    user_confirm_key TEXT NOT NULL,
    out_refund_no    TEXT NOT NULL,
    fingerprint      TEXT NOT NULL,
    service          TEXT NOT NULL,
    amount_minor     INTEGER NOT NULL CHECK (amount_minor > 0),
    amount_text      TEXT NOT NULL,
    reason           TEXT,
    -- SUCCESS, PROCESSING (apply-refund not yet completed) or FAIL.
    status           TEXT NOT NULL CHECK (status IN ('SUCCESS', 'PROCESSING', 'FAIL')),
    -- trade_status reported for this refund: TRADE_REFUND (order still has a
    -- balance after it) or TRADE_CLOSED (it completed a full refund).
    trade_status     TEXT NOT NULL,
    notify_url       TEXT,
    created_at       INTEGER NOT NULL,
    complete_after   INTEGER,
    completed_at     INTEGER,
    UNIQUE (user_confirm_key, out_refund_no)
);

CREATE INDEX refunds_by_order ON refunds (eft_trade_no);
CREATE INDEX refunds_processing ON refunds (complete_after) WHERE status = 'PROCESSING';
