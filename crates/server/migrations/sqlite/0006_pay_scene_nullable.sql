-- no-transaction
-- The qrcode scene (issue #19): its requests carry no pay_scene, so
-- orders.pay_scene becomes nullable (NULL: the scene has none). Nothing
-- else changes; existing rows are copied as they are.
--
-- SQLite changes a column's NOT NULL only by rebuilding the table, with the
-- procedure of 0005: foreign keys OFF (outside a transaction, hence
-- `no-transaction`), then in ONE transaction create the new table, copy,
-- drop the old one, rename the new one to the old name (refunds and
-- notifications keep referencing the name), recreate the index, check
-- every foreign key, commit, foreign keys back ON.

PRAGMA foreign_keys = OFF;

BEGIN IMMEDIATE;

DROP TABLE IF EXISTS orders_new;
CREATE TABLE orders_new (
    eft_trade_no     TEXT PRIMARY KEY NOT NULL,
    user_confirm_key TEXT NOT NULL REFERENCES merchants (user_confirm_key),
    out_trade_no     TEXT NOT NULL,
    fingerprint      TEXT NOT NULL,
    service          TEXT NOT NULL,
    pay_type         TEXT,
    wallet           TEXT,
    pay_scene        TEXT,
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
    -- Equalities joined by OR, not IN (see 0005: an IN list of more than
    -- two values costs a temporary index at every INSERT).
    state            TEXT NOT NULL DEFAULT 'PENDING'
                     CHECK (state = 'PENDING' OR state = 'TRADE_SUCCESS' OR state = 'TRADE_FAIL'
                            OR state = 'TRADE_CLOSED' OR state = 'TRADE_REFUND'),
    final_at         INTEGER,
    transaction_id   TEXT,
    card_scheme      TEXT,
    refunded_minor   INTEGER NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0 AND refunded_minor <= amount_minor),
    UNIQUE (user_confirm_key, out_trade_no)
);
INSERT INTO orders_new (eft_trade_no, user_confirm_key, out_trade_no, fingerprint, service, pay_type, wallet,
    pay_scene, buyer_type, amount_minor, amount_text, currency, subject, body, tid, notify_url, return_url, lang,
    scheme, package_name, app_link, active_time, request_time, created_at, expires_at, state, final_at,
    transaction_id, card_scheme, refunded_minor)
SELECT eft_trade_no, user_confirm_key, out_trade_no, fingerprint, service, pay_type, wallet,
    pay_scene, buyer_type, amount_minor, amount_text, currency, subject, body, tid, notify_url, return_url, lang,
    scheme, package_name, app_link, active_time, request_time, created_at, expires_at, state, final_at,
    transaction_id, card_scheme, refunded_minor
FROM orders;
DROP TABLE orders;
ALTER TABLE orders_new RENAME TO orders;
CREATE INDEX orders_pending_by_expiry ON orders (expires_at) WHERE state = 'PENDING';

-- Every reference still resolves (a CHECK turns a violation into an error,
-- which rolls the whole rebuild back).
CREATE TEMP TABLE foreign_keys_after_rebuild (violations INTEGER NOT NULL CHECK (violations = 0));
INSERT INTO foreign_keys_after_rebuild SELECT COUNT(*) FROM pragma_foreign_key_check;
DROP TABLE foreign_keys_after_rebuild;

COMMIT;

PRAGMA foreign_keys = ON;
