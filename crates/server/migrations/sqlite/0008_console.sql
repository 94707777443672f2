-- Developer console (issue #21): the request log, what happened to an order
-- besides its state (pay page views, buyer and console actions), the exact
-- body of each notification attempt, and indexes for the console's lists.
--
-- No index is added to what a new order writes: every index on `orders`
-- would cost each Place an Order an index insert. The two below are
-- partial and hold only rows that left the state new rows are written in
-- (a settled order, a delivered or failed notification).

-- Every API request but an accepted Place an Order (whose order row is its
-- record), kept for the configured period and pruned by the sweeper.
-- `request`, `answer` and `sign_hint` are JSON with secrets and card
-- numbers masked before they are written.
CREATE TABLE request_log (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ms         INTEGER NOT NULL,
    latency_us    INTEGER NOT NULL,
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
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    eft_trade_no TEXT NOT NULL,
    at_ms        INTEGER NOT NULL,
    kind         TEXT NOT NULL,
    detail       TEXT NOT NULL
);
CREATE INDEX order_events_by_order ON order_events (eft_trade_no);

-- The signed message as sent (its `sign` is no secret).
ALTER TABLE notification_attempts ADD COLUMN body TEXT;

CREATE INDEX orders_final_by_state ON orders (state, eft_trade_no) WHERE state <> 'PENDING';
CREATE INDEX notifications_done ON notifications (status, id) WHERE status <> 'pending';
