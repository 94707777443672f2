//! The SQL of every store operation, written once for both backends.
//!
//! Statements use SQLite's numbered parameters (`?1`, `?2`, …); the
//! PostgreSQL text (`$1`, `$2`, …) is derived from it once, on first use.
//! Both dialects take `RETURNING`, `ON CONFLICT … DO NOTHING` and
//! `CAST(… AS BIGINT)`. Where they really differ (row locks), a statement
//! carries one text per dialect ([`Sql::per_dialect`]).

use std::sync::OnceLock;

/// One statement's text, per dialect.
pub(crate) struct Sql {
    sqlite: &'static str,
    /// PostgreSQL's own text, when it differs beyond placeholders.
    postgres: Option<&'static str>,
    pg: OnceLock<String>,
}

impl Sql {
    /// A statement both dialects run as written.
    pub(crate) const fn new(text: &'static str) -> Self {
        Self { sqlite: text, postgres: None, pg: OnceLock::new() }
    }

    /// A statement whose PostgreSQL form differs (e.g. `FOR UPDATE`).
    pub(crate) const fn per_dialect(sqlite: &'static str, postgres: &'static str) -> Self {
        Self { sqlite, postgres: Some(postgres), pg: OnceLock::new() }
    }

    /// The SQLite text.
    pub(crate) fn sqlite(&'static self) -> &'static str {
        self.sqlite
    }

    /// The PostgreSQL text, with `$n` parameters.
    pub(crate) fn postgres(&'static self) -> &'static str {
        self.pg.get_or_init(|| dollar_parameters(self.postgres.unwrap_or(self.sqlite)))
    }
}

/// `?n` → `$n`. The statements here hold no `?` inside string literals.
fn dollar_parameters(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '?' && chars.peek().is_some_and(char::is_ascii_digit) {
            out.push('$');
        } else {
            out.push(c);
        }
    }
    out
}

/// Columns of an order, in `SELECT` order (also those [`super::rows::order`] reads).
macro_rules! order_columns {
    () => {
        "eft_trade_no, user_confirm_key, out_trade_no, fingerprint, service, pay_type, wallet, pay_scene, buyer_type, \
         amount_minor, amount_text, currency, subject, body, tid, notify_url, return_url, lang, scheme, package_name, \
         app_link, active_time, request_time, created_at, expires_at, state, final_at, transaction_id, card_scheme, \
         refunded_minor, scene_fields"
    };
}

/// Columns of a refund.
macro_rules! refund_columns {
    () => {
        "id, eft_trade_no, user_confirm_key, out_refund_no, fingerprint, service, amount_minor, amount_text, reason, \
         status, trade_status, notify_url, created_at, complete_after, completed_at"
    };
}

/// Columns of an outbox row.
macro_rules! notification_columns {
    () => {
        "id, eft_trade_no, user_confirm_key, url, trade_status, payload, status, attempts, next_attempt_at, \
         delivered_at, delivery"
    };
}

/// The condition under which a sealed value is written: the store's
/// newest master key version is still the one it was sealed under. A
/// writer whose key ring is behind a rotation writes nothing, reloads its
/// keys and seals again, so nothing is written under a retiring key.
macro_rules! sealing_under {
    ($param:literal) => {
        concat!("CAST(COALESCE((SELECT MAX(version) FROM master_keys), 0) AS BIGINT) = ", $param)
    };
}

// ---- merchants and settings ----

pub(crate) static MERCHANT: Sql = Sql::new(
    "SELECT user_confirm_key, name, secret, status, allowed_ports, previous_secret, previous_until, previous_signs \
     FROM merchants WHERE user_confirm_key = ?1",
);
/// Only while the store's newest master key version is the one the secret
/// was sealed under (`?7`; 0 = clear): see [`KEY_VERSION`].
pub(crate) static ADD_MERCHANT: Sql = Sql::new(concat!(
    "INSERT INTO merchants (user_confirm_key, name, secret, status, created_at, allowed_ports) \
     SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE ",
    sealing_under!("?7"),
    " ON CONFLICT DO NOTHING"
));
pub(crate) static LIST_MERCHANTS: Sql =
    Sql::new("SELECT user_confirm_key, name, status, created_at FROM merchants ORDER BY created_at, user_confirm_key");
pub(crate) static SET_MERCHANT_STATUS: Sql = Sql::new("UPDATE merchants SET status = ?1 WHERE user_confirm_key = ?2");
pub(crate) static INIT_SETTING: Sql =
    Sql::new("INSERT INTO gateway_settings (name, value) VALUES (?1, ?2) ON CONFLICT DO NOTHING");
pub(crate) static SETTING: Sql = Sql::new("SELECT value FROM gateway_settings WHERE name = ?1");

// ---- sealed values (vault.rs) ----

/// The store's newest master key version (0: secrets are stored in clear).
pub(crate) static KEY_VERSION: Sql = Sql::new("SELECT CAST(COALESCE(MAX(version), 0) AS BIGINT) AS n FROM master_keys");
pub(crate) static MASTER_KEYS: Sql =
    Sql::new("SELECT version, key_check, retired_at FROM master_keys ORDER BY version");
/// Fails on a taken version or key (another rotation, the same key twice).
pub(crate) static REGISTER_KEY: Sql =
    Sql::new("INSERT INTO master_keys (version, key_check, created_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING");
pub(crate) static RETIRE_KEYS: Sql =
    Sql::new("UPDATE master_keys SET retired_at = ?2 WHERE version < ?1 AND retired_at IS NULL");
/// Holds off every other write of sealed values until the transaction ends:
/// PostgreSQL locks the two tables against writers (readers go on); on
/// SQLite any write takes the database's single write lock.
pub(crate) static LOCK_SEALED: Sql = Sql::per_dialect(
    "UPDATE master_keys SET retired_at = retired_at",
    "LOCK TABLE merchants, gateway_settings IN SHARE ROW EXCLUSIVE MODE",
);
/// After secrets were re-sealed: SQLite copies the WAL into the file and
/// empties it, so old page images (with the replaced values) are gone.
pub(crate) static FORGET_REPLACED: Sql = Sql::per_dialect("PRAGMA wal_checkpoint(TRUNCATE)", "SELECT 1");
pub(crate) static MERCHANT_SECRETS: Sql =
    Sql::new("SELECT user_confirm_key, secret, previous_secret FROM merchants ORDER BY user_confirm_key");
/// Compare-and-swap: only if nobody changed the value meanwhile.
pub(crate) static RESEAL_SECRET: Sql = Sql::new(concat!(
    "UPDATE merchants SET secret = ?1 WHERE user_confirm_key = ?2 AND secret = ?3 AND ",
    sealing_under!("?4")
));
pub(crate) static RESEAL_PREVIOUS: Sql = Sql::new(concat!(
    "UPDATE merchants SET previous_secret = ?1 WHERE user_confirm_key = ?2 AND previous_secret = ?3 AND ",
    sealing_under!("?4")
));
pub(crate) static RESEAL_SETTING: Sql = Sql::new(concat!(
    "UPDATE gateway_settings SET value = ?1 WHERE name = ?2 AND value = ?3 AND ",
    sealing_under!("?4")
));
pub(crate) static INIT_SEALED_SETTING: Sql = Sql::new(concat!(
    "INSERT INTO gateway_settings (name, value) SELECT ?1, ?2 WHERE ",
    sealing_under!("?3"),
    " ON CONFLICT DO NOTHING"
));
/// A rotation: the new secret `?1`; the old one becomes the previous one
/// until `?4`, signing outbound, unless an unpromoted overlap is still
/// running at `?3` (then its old secret stays and the unpromoted new one
/// is dropped).
pub(crate) static ROTATE_SECRET: Sql = Sql::new(concat!(
    "UPDATE merchants SET \
     previous_secret = CASE WHEN previous_secret IS NOT NULL AND previous_signs = 1 AND previous_until > ?3 \
     THEN previous_secret ELSE secret END, \
     previous_until = ?4, previous_signs = 1, secret = ?1 \
     WHERE user_confirm_key = ?2 AND ",
    sealing_under!("?5")
));
/// A reset: the new secret alone.
pub(crate) static RESET_SECRET: Sql = Sql::new(concat!(
    "UPDATE merchants SET secret = ?1, previous_secret = NULL, previous_until = NULL, previous_signs = 0 \
     WHERE user_confirm_key = ?2 AND ",
    sealing_under!("?3")
));
pub(crate) static PROMOTE_SECRET: Sql = Sql::new(
    "UPDATE merchants SET previous_signs = 0 WHERE user_confirm_key = ?1 AND previous_secret IS NOT NULL \
     AND previous_signs = 1 AND previous_until > ?2",
);

// ---- orders ----

pub(crate) static INSERT_ORDER: Sql = Sql::new(
    "INSERT INTO orders (eft_trade_no, user_confirm_key, out_trade_no, fingerprint, service, pay_type, wallet, \
     pay_scene, buyer_type, amount_minor, amount_text, currency, subject, body, tid, notify_url, return_url, lang, \
     scheme, package_name, app_link, active_time, request_time, created_at, expires_at, state, scene_fields) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, \
     ?23, ?24, ?25, ?26, ?27) ON CONFLICT DO NOTHING",
);
pub(crate) static ORDER_BY_EFT: Sql =
    Sql::new(concat!("SELECT ", order_columns!(), " FROM orders WHERE eft_trade_no = ?1"));
/// The order row, locked until the transaction ends on PostgreSQL (refunds
/// of one order from several instances run one at a time); SQLite's single
/// writer needs no lock.
pub(crate) static ORDER_BY_EFT_LOCKED: Sql = Sql::per_dialect(
    concat!("SELECT ", order_columns!(), " FROM orders WHERE eft_trade_no = ?1"),
    concat!("SELECT ", order_columns!(), " FROM orders WHERE eft_trade_no = ?1 FOR UPDATE"),
);
pub(crate) static ORDER_BY_OUT: Sql =
    Sql::new(concat!("SELECT ", order_columns!(), " FROM orders WHERE user_confirm_key = ?1 AND out_trade_no = ?2"));
pub(crate) static EXPIRED_PENDING: Sql = Sql::new(concat!(
    "SELECT ",
    order_columns!(),
    " FROM orders WHERE state = 'PENDING' AND expires_at <= ?1 ORDER BY expires_at LIMIT ?2"
));
pub(crate) static COUNT_ORDERS: Sql = Sql::new("SELECT COUNT(*) AS n FROM orders");
/// Applies a transition to a still-pending order only.
pub(crate) static SETTLE: Sql = Sql::new(concat!(
    "UPDATE orders SET state = ?1, final_at = ?2, transaction_id = ?3, card_scheme = ?4 \
     WHERE eft_trade_no = ?5 AND state = 'PENDING' RETURNING ",
    order_columns!()
));
/// A cashier order's wallet, chosen once by its buyer while it is pending.
pub(crate) static CHOOSE_WALLET: Sql = Sql::new(concat!(
    "UPDATE orders SET pay_type = ?1, wallet = ?2 WHERE eft_trade_no = ?3 AND state = 'PENDING' AND wallet IS NULL \
     RETURNING ",
    order_columns!()
));
pub(crate) static SET_REFUNDED: Sql =
    Sql::new("UPDATE orders SET refunded_minor = ?1, state = ?2 WHERE eft_trade_no = ?3");

// ---- the outbox ----

pub(crate) static INSERT_NOTIFICATION: Sql = Sql::new(
    "INSERT INTO notifications (eft_trade_no, user_confirm_key, url, trade_status, payload, status, attempts, \
     next_attempt_at, created_at, delivery) VALUES (?1, ?2, ?3, ?4, ?5, 'pending', 0, ?6, ?7, ?8)",
);
/// Leases due rows. PostgreSQL skips rows another instance is claiming.
pub(crate) static CLAIM: Sql = Sql::per_dialect(
    concat!(
        "UPDATE notifications SET lease_until = ?1 WHERE id IN (SELECT id FROM notifications \
         WHERE status = 'pending' AND next_attempt_at <= ?2 AND (lease_until IS NULL OR lease_until <= ?2) \
         ORDER BY next_attempt_at, id LIMIT ?3) RETURNING ",
        notification_columns!()
    ),
    concat!(
        "UPDATE notifications SET lease_until = ?1 WHERE id IN (SELECT id FROM notifications \
         WHERE status = 'pending' AND next_attempt_at <= ?2 AND (lease_until IS NULL OR lease_until <= ?2) \
         ORDER BY next_attempt_at, id LIMIT ?3 FOR UPDATE SKIP LOCKED) RETURNING ",
        notification_columns!()
    ),
);
pub(crate) static INSERT_ATTEMPT: Sql = Sql::new(
    "INSERT INTO notification_attempts (notification_id, attempt, attempted_at, http_status, latency_ms, outcome, \
     excerpt, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
);
pub(crate) static AFTER_ATTEMPT: Sql = Sql::new(
    "UPDATE notifications SET attempts = ?1, status = ?2, next_attempt_at = COALESCE(?3, next_attempt_at), \
     delivered_at = ?4, lease_until = NULL WHERE id = ?5",
);
pub(crate) static NOTIFICATIONS_OF_ORDER: Sql =
    Sql::new(concat!("SELECT ", notification_columns!(), " FROM notifications WHERE eft_trade_no = ?1 ORDER BY id"));
pub(crate) static ATTEMPTS_OF_NOTIFICATION: Sql = Sql::new(
    "SELECT attempt, attempted_at, http_status, latency_ms, outcome, excerpt, body FROM notification_attempts \
     WHERE notification_id = ?1 ORDER BY attempt",
);

// ---- refunds ----

pub(crate) static REFUND_BY_OUT_REFUND_NO: Sql =
    Sql::new(concat!("SELECT ", refund_columns!(), " FROM refunds WHERE user_confirm_key = ?1 AND out_refund_no = ?2"));
/// Another instance may take the same `out_refund_no` meanwhile: then nothing is returned.
pub(crate) static INSERT_REFUND: Sql = Sql::new(concat!(
    "INSERT INTO refunds (eft_trade_no, user_confirm_key, out_refund_no, fingerprint, service, amount_minor, \
     amount_text, reason, status, trade_status, notify_url, created_at, complete_after, completed_at) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) \
     ON CONFLICT (user_confirm_key, out_refund_no) DO NOTHING RETURNING ",
    refund_columns!()
));
pub(crate) static COMPLETE_REFUND: Sql = Sql::new(
    "UPDATE refunds SET status = 'SUCCESS', completed_at = ?1 WHERE id = ?2 AND status = 'PROCESSING' \
     RETURNING eft_trade_no, user_confirm_key",
);
pub(crate) static DUE_REFUNDS: Sql = Sql::new(concat!(
    "SELECT ",
    refund_columns!(),
    " FROM refunds WHERE status = 'PROCESSING' AND complete_after <= ?1 ORDER BY complete_after LIMIT ?2"
));
pub(crate) static REFUNDS_TOTAL: Sql =
    Sql::new("SELECT CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) AS total FROM refunds WHERE eft_trade_no = ?1");
pub(crate) static OWED_NOTIFICATIONS: Sql =
    Sql::new("SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM notifications WHERE status = 'pending'");

// ---- sandbox faults ----

/// Columns of a fault rule.
macro_rules! fault_columns {
    () => {
        "id, user_confirm_key, rule, remaining, created_at"
    };
}

pub(crate) static ADD_FAULT: Sql = Sql::new(concat!(
    "INSERT INTO sandbox_faults (user_confirm_key, rule, remaining, created_at) VALUES (?1, ?2, ?3, ?4) RETURNING ",
    fault_columns!()
));
pub(crate) static FAULTS_OF_MERCHANT: Sql =
    Sql::new(concat!("SELECT ", fault_columns!(), " FROM sandbox_faults WHERE user_confirm_key = ?1 ORDER BY id"));
pub(crate) static ALL_FAULTS: Sql = Sql::new(concat!("SELECT ", fault_columns!(), " FROM sandbox_faults ORDER BY id"));
pub(crate) static CLEAR_FAULTS: Sql = Sql::new("DELETE FROM sandbox_faults WHERE user_confirm_key = ?1");
pub(crate) static CLEAR_FAULT: Sql = Sql::new("DELETE FROM sandbox_faults WHERE user_confirm_key = ?1 AND id = ?2");
/// Takes one firing of a counted rule; nothing when another request (on
/// any instance) took the last one.
pub(crate) static CONSUME_FAULT: Sql =
    Sql::new("UPDATE sandbox_faults SET remaining = remaining - 1 WHERE id = ?1 AND remaining > 0 RETURNING remaining");
pub(crate) static DELETE_USED_FAULT: Sql = Sql::new("DELETE FROM sandbox_faults WHERE id = ?1 AND remaining = 0");
/// Holds a notification back without counting an attempt (a fault rule's
/// delay or reorder).
pub(crate) static POSTPONE_NOTIFICATION: Sql =
    Sql::new("UPDATE notifications SET next_attempt_at = ?1, lease_until = NULL WHERE id = ?2 AND status = 'pending'");

// ---- readiness ----

/// The readiness probe's write: one small row, rewritten each time.
pub(crate) static PROBE: Sql = Sql::new(
    "INSERT INTO gateway_settings (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
);

// ---- the developer console (store/console.rs) ----

/// Columns of a request log record.
macro_rules! request_columns {
    () => {
        "id, at_ms, latency_us, endpoint, service, merchant, out_trade_no, eft_trade_no, return_status, reason, request, \
         answer, sign_hint"
    };
}

pub(crate) static INSERT_REQUEST: Sql = Sql::new(
    "INSERT INTO request_log (at_ms, latency_us, endpoint, service, merchant, out_trade_no, eft_trade_no, \
     return_status, reason, request, answer, sign_hint) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
);
pub(crate) static INSERT_EVENT: Sql =
    Sql::new("INSERT INTO order_events (eft_trade_no, at_ms, kind, detail) VALUES (?1, ?2, ?3, ?4)");
pub(crate) static REQUEST_BY_ID: Sql =
    Sql::new(concat!("SELECT ", request_columns!(), " FROM request_log WHERE id = ?1"));
/// A bounded scan, newest first: the `?2` records below id `?1`, filtered
/// (`NULL` = any; `?9` = 1: refused only). The scan's bound keeps every
/// page fast whatever the filters match.
pub(crate) static SCAN_REQUESTS: Sql = Sql::new(concat!(
    "SELECT ",
    request_columns!(),
    " FROM (SELECT ",
    request_columns!(),
    " FROM request_log WHERE id < ?1 ORDER BY id DESC LIMIT ?2) t \
     WHERE (?3 IS NULL OR merchant = ?3) AND (?4 IS NULL OR return_status = ?4) AND (?5 IS NULL OR service = ?5) \
     AND (?6 IS NULL OR endpoint = ?6) AND at_ms >= ?7 AND (?9 = 0 OR return_status <> '00') \
     ORDER BY id DESC LIMIT ?8"
));
/// How far [`SCAN_REQUESTS`] looked: rows scanned and the lowest id.
pub(crate) static SCAN_REQUESTS_EDGE: Sql = Sql::new(
    "SELECT COUNT(*) AS n, MIN(id) AS low FROM (SELECT id FROM request_log WHERE id < ?1 ORDER BY id DESC LIMIT ?2) t",
);
/// Records after id `?1`, oldest first (`vmp requests tail`).
pub(crate) static REQUESTS_AFTER: Sql = Sql::new(concat!(
    "SELECT ",
    request_columns!(),
    " FROM request_log WHERE id > ?1 AND (?3 IS NULL OR merchant = ?3) ORDER BY id LIMIT ?2"
));
pub(crate) static REQUESTS_OF_ORDER: Sql = Sql::new(concat!(
    "SELECT ",
    request_columns!(),
    " FROM request_log WHERE merchant = ?1 AND out_trade_no = ?2 ORDER BY id"
));
pub(crate) static LAST_REQUEST_ID: Sql = Sql::new("SELECT MAX(id) AS low FROM request_log");
/// The first record to keep when pruning: the oldest at or after `?1`.
pub(crate) static FIRST_REQUEST_KEPT: Sql =
    Sql::new("SELECT id AS low FROM request_log WHERE at_ms >= ?1 ORDER BY id LIMIT 1");
pub(crate) static PRUNE_REQUESTS: Sql =
    Sql::new("DELETE FROM request_log WHERE id < ?1 AND id < (SELECT MIN(id) FROM request_log) + ?2");
pub(crate) static FIRST_EVENT_KEPT: Sql =
    Sql::new("SELECT id AS low FROM order_events WHERE at_ms >= ?1 ORDER BY id LIMIT 1");
pub(crate) static PRUNE_EVENTS: Sql =
    Sql::new("DELETE FROM order_events WHERE id < ?1 AND id < (SELECT MIN(id) FROM order_events) + ?2");
pub(crate) static LAST_EVENT_ID: Sql = Sql::new("SELECT MAX(id) AS low FROM order_events");
pub(crate) static EVENTS_OF_ORDER: Sql =
    Sql::new("SELECT id, eft_trade_no, at_ms, kind, detail FROM order_events WHERE eft_trade_no = ?1 ORDER BY id");

/// A bounded scan of orders, newest first: the `?3` orders below `?1` and
/// at or above `?2`, filtered (`NULL` = any).
pub(crate) static SCAN_ORDERS: Sql = Sql::new(concat!(
    "SELECT ",
    order_columns!(),
    " FROM (SELECT ",
    order_columns!(),
    " FROM orders WHERE eft_trade_no < ?1 AND eft_trade_no >= ?2 ORDER BY eft_trade_no DESC LIMIT ?3) t \
     WHERE (?4 IS NULL OR user_confirm_key = ?4) AND (?5 IS NULL OR service = ?5) AND (?6 IS NULL OR state = ?6) \
     AND (?7 IS NULL OR created_at >= ?7) AND (?8 IS NULL OR created_at < ?8) ORDER BY eft_trade_no DESC LIMIT ?9"
));
pub(crate) static SCAN_ORDERS_EDGE: Sql = Sql::new(
    "SELECT COUNT(*) AS n, MIN(eft_trade_no) AS low FROM (SELECT eft_trade_no FROM orders \
     WHERE eft_trade_no < ?1 AND eft_trade_no >= ?2 ORDER BY eft_trade_no DESC LIMIT ?3) t",
);
/// [`SCAN_ORDERS`] over the orders in one final state `?6`, through the
/// partial index `orders_final_by_state` (the literal `state <> 'PENDING'`
/// lets both planners use it).
pub(crate) static SCAN_FINAL_ORDERS: Sql = Sql::new(concat!(
    "SELECT ",
    order_columns!(),
    " FROM (SELECT ",
    order_columns!(),
    " FROM orders WHERE state = ?6 AND state <> 'PENDING' AND eft_trade_no < ?1 AND eft_trade_no >= ?2 \
     ORDER BY eft_trade_no DESC LIMIT ?3) t \
     WHERE (?4 IS NULL OR user_confirm_key = ?4) AND (?5 IS NULL OR service = ?5) \
     AND (?7 IS NULL OR created_at >= ?7) AND (?8 IS NULL OR created_at < ?8) ORDER BY eft_trade_no DESC LIMIT ?9"
));
pub(crate) static SCAN_FINAL_ORDERS_EDGE: Sql = Sql::new(
    "SELECT COUNT(*) AS n, MIN(eft_trade_no) AS low FROM (SELECT eft_trade_no FROM orders \
     WHERE state = ?4 AND state <> 'PENDING' AND eft_trade_no < ?1 AND eft_trade_no >= ?2 \
     ORDER BY eft_trade_no DESC LIMIT ?3) t",
);
/// Orders of any merchant with this `out_trade_no` (one index lookup per merchant).
pub(crate) static ORDERS_BY_OUT_ANY_MERCHANT: Sql = Sql::new(concat!(
    "SELECT ",
    order_columns!(),
    " FROM orders WHERE out_trade_no = ?1 AND user_confirm_key IN (SELECT user_confirm_key FROM merchants) \
     ORDER BY eft_trade_no DESC LIMIT 50"
));
/// Orders after `?1`, oldest first, created at or after `?2` (`vmp requests tail`).
pub(crate) static ORDERS_AFTER: Sql = Sql::new(concat!(
    "SELECT ",
    order_columns!(),
    " FROM orders WHERE eft_trade_no > ?1 AND created_at >= ?2 AND (?4 IS NULL OR user_confirm_key = ?4) \
     ORDER BY eft_trade_no LIMIT ?3"
));
/// Two subqueries, not `SELECT MIN(…), MAX(…)`: SQLite answers a lone
/// `MIN` or `MAX` from the primary key's index, but both in one SELECT by
/// reading every row (95 ms over 1,000,000 orders).
pub(crate) static ORDER_KEY_RANGE: Sql =
    Sql::new("SELECT (SELECT MIN(eft_trade_no) FROM orders) AS lo, (SELECT MAX(eft_trade_no) FROM orders) AS hi");
pub(crate) static REFUNDS_OF_ORDER: Sql =
    Sql::new(concat!("SELECT ", refund_columns!(), " FROM refunds WHERE eft_trade_no = ?1 ORDER BY id"));

/// Notifications, newest first, filtered by merchant `?2` and order `?3`.
pub(crate) static LIST_NOTIFICATIONS: Sql = Sql::new(concat!(
    "SELECT ",
    notification_columns!(),
    ", created_at FROM notifications WHERE id < ?1 AND (?2 IS NULL OR user_confirm_key = ?2) \
     AND (?3 IS NULL OR eft_trade_no = ?3) ORDER BY id DESC LIMIT ?4"
));
/// Delivered or failed (`?5`) notifications, through `notifications_done`.
pub(crate) static LIST_DONE_NOTIFICATIONS: Sql = Sql::new(concat!(
    "SELECT ",
    notification_columns!(),
    ", created_at FROM notifications WHERE status = ?5 AND status <> 'pending' AND id < ?1 \
     AND (?2 IS NULL OR user_confirm_key = ?2) AND (?3 IS NULL OR eft_trade_no = ?3) ORDER BY id DESC LIMIT ?4"
));
/// Owed notifications, soonest due first, after `(?1, ?5)` in that order,
/// through `notifications_due`.
pub(crate) static LIST_OWED_NOTIFICATIONS: Sql = Sql::new(concat!(
    "SELECT ",
    notification_columns!(),
    ", created_at FROM notifications WHERE status = 'pending' \
     AND (next_attempt_at > ?1 OR (next_attempt_at = ?1 AND id > ?5)) \
     AND (?2 IS NULL OR user_confirm_key = ?2) AND (?3 IS NULL OR eft_trade_no = ?3) \
     ORDER BY next_attempt_at, id LIMIT ?4"
));
pub(crate) static NOTIFICATION_BY_ID: Sql =
    Sql::new(concat!("SELECT ", notification_columns!(), ", created_at FROM notifications WHERE id = ?1"));
/// "Deliver now": a pending row not being delivered at this moment.
pub(crate) static DELIVER_NOW: Sql = Sql::new(
    "UPDATE notifications SET next_attempt_at = ?1, lease_until = NULL \
     WHERE id = ?2 AND status = 'pending' AND (lease_until IS NULL OR lease_until <= ?1)",
);
/// "Resend": a new outbox row with the same message, due now.
pub(crate) static RESEND: Sql = Sql::new(
    "INSERT INTO notifications (eft_trade_no, user_confirm_key, url, trade_status, payload, status, attempts, \
     next_attempt_at, created_at, delivery) SELECT eft_trade_no, user_confirm_key, url, trade_status, payload, \
     'pending', 0, ?1, ?1, delivery FROM notifications WHERE id = ?2 AND status <> 'pending' RETURNING id AS low",
);

pub(crate) static SET_MERCHANT_SECRET: Sql = Sql::new("UPDATE merchants SET secret = ?1 WHERE user_confirm_key = ?2");

/// A merchant's sandbox data, children first (each statement takes the key as `?1`).
pub(crate) static RESET_MERCHANT: [Sql; 6] = [
    Sql::new(
        "DELETE FROM notification_attempts WHERE notification_id IN \
         (SELECT id FROM notifications WHERE user_confirm_key = ?1)",
    ),
    Sql::new("DELETE FROM notifications WHERE user_confirm_key = ?1"),
    Sql::new("DELETE FROM refunds WHERE user_confirm_key = ?1"),
    Sql::new(
        "DELETE FROM order_events WHERE eft_trade_no IN (SELECT eft_trade_no FROM orders WHERE user_confirm_key = ?1)",
    ),
    Sql::new("DELETE FROM orders WHERE user_confirm_key = ?1"),
    Sql::new("DELETE FROM request_log WHERE merchant = ?1"),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_text_numbers_its_parameters_with_dollars() {
        assert_eq!(dollar_parameters("a = ?1 AND b <= ?12 OR c IS NULL"), "a = $1 AND b <= $12 OR c IS NULL");
        assert!(CLAIM.postgres().contains("FOR UPDATE SKIP LOCKED"));
        assert!(!CLAIM.sqlite().contains("FOR UPDATE"));
        assert!(INSERT_ORDER.postgres().contains("$27)") && !INSERT_ORDER.postgres().contains('?'));
    }
}
