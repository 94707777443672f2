-- Typed states (issue #17): CHECK constraints on every status column, the
-- outbox's delivery policy, and wallet/pay_type nullable for the cashier
-- scene (the buyer picks the wallet after the order exists). Same meaning
-- as SQLite's 0005. Existing rows are checked when each constraint is
-- added; one that breaks it fails the migration, which then changes nothing.

ALTER TABLE orders ALTER COLUMN wallet DROP NOT NULL;
ALTER TABLE orders ALTER COLUMN pay_type DROP NOT NULL;
ALTER TABLE orders ADD CONSTRAINT orders_state_check
    CHECK (state IN ('PENDING', 'TRADE_SUCCESS', 'TRADE_FAIL', 'TRADE_CLOSED', 'TRADE_REFUND'));
ALTER TABLE orders ADD CONSTRAINT orders_refunded_minor_nonnegative CHECK (refunded_minor >= 0);

ALTER TABLE refunds ADD CONSTRAINT refunds_trade_status_check
    CHECK (trade_status IN ('TRADE_REFUND', 'TRADE_CLOSED'));

ALTER TABLE notifications ADD CONSTRAINT notifications_trade_status_check
    CHECK (trade_status IN ('TRADE_SUCCESS', 'TRADE_FAIL', 'TRADE_CLOSED', 'TRADE_REFUND'));
ALTER TABLE notifications ADD COLUMN delivery TEXT NOT NULL DEFAULT 'retried'
    CHECK (delivery IN ('retried', 'once'));
