//! The SQLite writer: one synchronous connection on the writer's own thread.
//!
//! Reads stay on sqlx's pool ([`super::SqliteStore`]); every write the
//! group-commit loop batches runs here. A batch is one `BEGIN IMMEDIATE`,
//! its statements (prepared once, cached) and one `COMMIT`, all on this
//! thread: no statement waits for another thread to be scheduled.
//!
//! rusqlite and sqlx link the same `libsqlite3-sys` (see the workspace
//! manifest), so both sides run the same SQLite library.

use std::path::Path;
use std::sync::LazyLock;
use std::time::Duration;

use rusqlite::{CachedStatement, Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use super::rows::{self, ORDER_COLUMNS, REFUND_COLUMNS};
use super::sqlite::{SELECT_ORDER_BY_EFT, SELECT_ORDER_BY_OUT_TRADE_NO};
use super::writer::{Apply, Inserted, OpResult, WriteOp};
use super::{
    AttemptRecord, NewNotification, NewRefund, NotificationRow, OrderRecord, RefundOutcome, SettleOutcome, Settlement,
    StoreError,
};

/// Prepared statements kept per connection (there are about a dozen).
const STATEMENT_CACHE: usize = 32;

/// The writer's connection.
pub(crate) struct SqliteWriter {
    conn: Connection,
}

impl SqliteWriter {
    /// Opens the database the pool created and migrated, with the same
    /// settings: WAL, `synchronous=FULL`, foreign keys, a busy timeout.
    pub(crate) fn open(path: &Path) -> Result<Self, rusqlite::Error> {
        let conn =
            Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
        conn.busy_timeout(Duration::from_secs(10))?;
        let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(rusqlite::Error::InvalidParameterName(format!("journal_mode is {mode}, not WAL")));
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        Ok(Self { conn })
    }

    /// Runs `ops` in one transaction; nothing of it stays on error.
    fn apply_now(&mut self, ops: &[WriteOp]) -> Result<Vec<OpResult>, StoreError> {
        // IMMEDIATE: take the write lock at BEGIN, so a batch never fails
        // half-way on a lock upgrade (the pool also writes, rarely).
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Taken from the statement cache once per batch, not once per order:
        // each cache lookup hashes the whole SQL text.
        let mut insert = None;
        let mut results = Vec::with_capacity(ops.len());
        for op in ops {
            results.push(match op {
                WriteOp::PlaceOrder(o, _) => OpResult::PlaceOrder(insert_order(&tx, &mut insert, o)?),
                WriteOp::Settle(s, _) => OpResult::Settle(settle(&tx, s)?),
                WriteOp::Claim { now, lease_until, limit, .. } => {
                    OpResult::Claim(claim(&tx, *now, *lease_until, *limit)?)
                }
                WriteOp::Attempt(a, _) => {
                    record_attempt(&tx, a)?;
                    OpResult::Attempt
                }
                WriteOp::Refund(n, _) => OpResult::Refund(refund(&tx, n)?),
                WriteOp::CompleteRefund { id, at, notification, .. } => {
                    OpResult::CompleteRefund(complete_refund(&tx, *id, *at, notification.as_deref())?)
                }
                WriteOp::Probe { at, .. } => {
                    tx.prepare_cached(PROBE)?.execute(params![super::PROBE_SETTING, at.to_string()])?;
                    OpResult::Probe
                }
            });
        }
        drop(insert);
        tx.commit()?;
        Ok(results)
    }
}

impl Apply for SqliteWriter {
    async fn apply(&mut self, ops: &[WriteOp]) -> Result<Vec<OpResult>, StoreError> {
        // Blocks this thread: the writer runs on a thread of its own
        // (`WriterHandle::spawn_on_thread`).
        self.apply_now(ops)
    }

    async fn close(self) {
        if let Err((_, e)) = self.conn.close() {
            tracing::warn!(error.message = %e, "closing the writer's connection failed");
        }
    }
}

/// The readiness probe's write: one small row, rewritten each time.
const PROBE: &str = "INSERT INTO gateway_settings (name, value) VALUES (?1, ?2) \
     ON CONFLICT (name) DO UPDATE SET value = excluded.value";

const INSERT_ORDER: &str = "INSERT INTO orders (eft_trade_no, user_confirm_key, out_trade_no, fingerprint, service, \
     pay_type, wallet, pay_scene, buyer_type, amount_minor, amount_text, currency, subject, body, tid, notify_url, \
     return_url, lang, scheme, package_name, app_link, active_time, request_time, created_at, expires_at, state) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, \
     ?24, ?25, ?26) ON CONFLICT DO NOTHING";

/// Inserts one order unless `(merchant, out_trade_no)` exists. `insert` is
/// the batch's prepared INSERT, taken from the cache on first use.
fn insert_order<'c>(
    c: &'c Connection,
    insert: &mut Option<CachedStatement<'c>>,
    o: &OrderRecord,
) -> Result<Result<Inserted, StoreError>, rusqlite::Error> {
    let stmt = match insert {
        Some(stmt) => stmt,
        None => insert.insert(c.prepare_cached(INSERT_ORDER)?),
    };
    let inserted = stmt.execute(params![
        o.eft_trade_no,
        o.user_confirm_key,
        o.out_trade_no,
        o.fingerprint,
        o.service,
        o.pay_type,
        o.wallet,
        o.pay_scene,
        o.buyer_type,
        o.amount_minor,
        o.amount_text,
        o.currency,
        o.subject,
        o.body,
        o.tid,
        o.notify_url,
        o.return_url,
        o.lang,
        o.scheme,
        o.package_name,
        o.app_link,
        o.active_time,
        o.request_time,
        o.created_at,
        o.expires_at,
        o.state,
    ])?;
    if inserted == 1 {
        return Ok(Ok(Inserted::New));
    }
    // Skipped: the merchant's out_trade_no is taken (an earlier order, or
    // one earlier in this batch), or, never in practice, the eft_trade_no.
    let existing = c
        .prepare_cached(SELECT_ORDER_BY_OUT_TRADE_NO)?
        .query_row(params![o.user_confirm_key, o.out_trade_no], |r| rows::order(r))
        .optional()?;
    Ok(match existing {
        Some(stored) => Ok(Inserted::Existing(Box::new(stored))),
        None => Err(StoreError::IdCollision),
    })
}

/// Moves a pending order to its final state, with its outbox row.
fn settle(c: &Connection, s: &Settlement) -> Result<SettleOutcome, rusqlite::Error> {
    static SETTLE: LazyLock<String> = LazyLock::new(|| {
        format!(
            "UPDATE orders SET state = ?1, final_at = ?2, transaction_id = ?3, card_scheme = ?4 \
             WHERE eft_trade_no = ?5 AND state = 'PENDING' RETURNING {ORDER_COLUMNS}"
        )
    });
    let moved = c
        .prepare_cached(&SETTLE)?
        .query_row(params![s.state, s.at, s.transaction_id, s.card_scheme, s.eft_trade_no], |r| rows::order(r))
        .optional()?;
    let Some(order) = moved else {
        let stored =
            c.prepare_cached(SELECT_ORDER_BY_EFT)?.query_row([&s.eft_trade_no], |r| rows::order(r)).optional()?;
        return Ok(match stored {
            Some(o) => SettleOutcome::AlreadyFinal(o),
            None => SettleOutcome::NotFound,
        });
    };
    if let Some(n) = &s.notification {
        insert_notification(c, &order.eft_trade_no, &order.user_confirm_key, n, s.at)?;
    }
    Ok(SettleOutcome::Applied(order))
}

/// Queues a notification (the outbox row).
fn insert_notification(
    c: &Connection,
    eft_trade_no: &str,
    user_confirm_key: &str,
    n: &NewNotification,
    at: i64,
) -> Result<(), rusqlite::Error> {
    c.prepare_cached(
        "INSERT INTO notifications (eft_trade_no, user_confirm_key, url, trade_status, payload, status, attempts, \
         next_attempt_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, 'pending', 0, ?6, ?7)",
    )?
    .execute(params![eft_trade_no, user_confirm_key, n.url, n.trade_status, n.payload, n.due_at, at])?;
    Ok(())
}

/// Leases up to `limit` due notifications until `lease_until`.
fn claim(c: &Connection, now: i64, lease_until: i64, limit: i64) -> Result<Vec<NotificationRow>, rusqlite::Error> {
    let mut stmt = c.prepare_cached(
        "UPDATE notifications SET lease_until = ?1 WHERE id IN (SELECT id FROM notifications \
         WHERE status = 'pending' AND next_attempt_at <= ?2 AND (lease_until IS NULL OR lease_until <= ?2) \
         ORDER BY next_attempt_at, id LIMIT ?3) \
         RETURNING id, eft_trade_no, user_confirm_key, url, trade_status, payload, status, attempts, next_attempt_at, delivered_at",
    )?;
    let rows = stmt.query_map(params![lease_until, now, limit], |r| rows::notification(r))?;
    rows.collect()
}

/// Records a delivery attempt and moves the outbox row on.
fn record_attempt(c: &Connection, a: &AttemptRecord) -> Result<(), rusqlite::Error> {
    let (status, next, delivered_at) = super::next_notification_state(a);
    c.prepare_cached(
        "INSERT INTO notification_attempts (notification_id, attempt, attempted_at, http_status, latency_ms, outcome, excerpt) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![a.notification_id, a.attempt, a.attempted_at, a.http_status, a.latency_ms, a.outcome, a.excerpt])?;
    c.prepare_cached(
        "UPDATE notifications SET attempts = ?1, status = ?2, next_attempt_at = COALESCE(?3, next_attempt_at), \
         delivered_at = ?4, lease_until = NULL WHERE id = ?5",
    )?
    .execute(params![a.attempt, status, next, delivered_at, a.notification_id])?;
    Ok(())
}

/// Checks and stores a refund, updating the order's refunded total.
fn refund(c: &Connection, n: &NewRefund) -> Result<RefundOutcome, rusqlite::Error> {
    static BY_OUT_REFUND_NO: LazyLock<String> = LazyLock::new(|| {
        format!("SELECT {REFUND_COLUMNS} FROM refunds WHERE user_confirm_key = ?1 AND out_refund_no = ?2")
    });
    static INSERT: LazyLock<String> = LazyLock::new(|| {
        format!(
            "INSERT INTO refunds (eft_trade_no, user_confirm_key, out_refund_no, fingerprint, service, amount_minor, \
             amount_text, reason, status, trade_status, notify_url, created_at, complete_after, completed_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) RETURNING {REFUND_COLUMNS}"
        )
    });
    let order_by_eft = |eft: &str| -> Result<Option<OrderRecord>, rusqlite::Error> {
        c.prepare_cached(SELECT_ORDER_BY_EFT)?.query_row([eft], |r| rows::order(r)).optional()
    };
    let Some(order) = order_by_eft(&n.eft_trade_no)? else {
        return Ok(RefundOutcome::NotFound);
    };
    let existing = c
        .prepare_cached(&BY_OUT_REFUND_NO)?
        .query_row(params![n.user_confirm_key, n.out_refund_no], |r| rows::refund(r))
        .optional()?;
    if let Some(r) = existing {
        let of_order = order_by_eft(&r.eft_trade_no)?.unwrap_or(order);
        return Ok(RefundOutcome::Existing(r, of_order));
    }
    let super::RefundPlan { total, trade_status, status, completed_at } = match super::plan_refund(&order, n) {
        Ok(plan) => plan,
        Err(refused) => return Ok(refused(order)),
    };
    let refund = c.prepare_cached(&INSERT)?.query_row(
        params![
            n.eft_trade_no,
            n.user_confirm_key,
            n.out_refund_no,
            n.fingerprint,
            n.service,
            n.amount_minor,
            n.amount_text,
            n.reason,
            status,
            trade_status,
            n.notify_url,
            n.at,
            n.complete_after,
            completed_at,
        ],
        |r| rows::refund(r),
    )?;
    c.prepare_cached("UPDATE orders SET refunded_minor = ?1, state = ?2 WHERE eft_trade_no = ?3")?.execute(params![
        total,
        trade_status,
        n.eft_trade_no
    ])?;
    let mut updated = order;
    updated.refunded_minor = total;
    updated.state = trade_status.to_owned();
    Ok(RefundOutcome::Applied(refund, updated))
}

/// Completes a processing apply-refund, with its outbox row.
fn complete_refund(
    c: &Connection,
    id: i64,
    at: i64,
    notification: Option<&NewNotification>,
) -> Result<bool, rusqlite::Error> {
    let done = c
        .prepare_cached(
            "UPDATE refunds SET status = 'SUCCESS', completed_at = ?1 WHERE id = ?2 AND status = 'PROCESSING'",
        )?
        .execute(params![at, id])?;
    if done == 0 {
        return Ok(false);
    }
    if let Some(n) = notification {
        let (eft_trade_no, key): (String, String) = c
            .prepare_cached("SELECT eft_trade_no, user_confirm_key FROM refunds WHERE id = ?1")?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        insert_notification(c, &eft_trade_no, &key, n, at)?;
    }
    Ok(true)
}
