//! The embedded SQLite store: WAL, `synchronous=FULL`.
//!
//! Reads and merchant administration go through a small pool. Every other
//! write goes through the group-commit writer ([`super::writer`]) on its own
//! connection, so one fsync covers a whole batch of concurrent writes.

use std::path::Path;
use std::sync::LazyLock;
use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, ConnectOptions, Row, Sqlite};

use super::rows::{self, ORDER_COLUMNS, REFUND_COLUMNS};
use super::writer::{Backend, Inserted, WriteOp, WriterHandle};
use super::{
    AttemptRecord, AttemptRow, NewMerchant, NewNotification, NewRefund, NotificationRow, OrderRecord, PlaceOutcome,
    RefundOutcome, RefundRecord, SettleOutcome, Settlement, Store, StoreError, StoreFuture, WriterStats,
};
use crate::merchant::{Merchant, MerchantStatus, MerchantSummary};

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "openvmp.db";

/// SQLite store with a group-commit writer.
pub struct SqliteStore {
    pool: SqlitePool,
    writer: WriterHandle,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").finish_non_exhaustive()
    }
}

fn connect_options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        .disable_statement_logging()
}

impl SqliteStore {
    /// Opens (creating if needed) the store in `data_dir`, runs migrations
    /// and starts the writer task. Must be called inside a Tokio runtime.
    ///
    /// # Errors
    /// When the directory cannot be created, the database cannot be opened
    /// or a migration fails.
    pub async fn open(data_dir: &Path, max_batch: usize) -> Result<Self, StoreError> {
        std::fs::create_dir_all(data_dir)?;
        let options = connect_options(&data_dir.join(DB_FILE));
        // No ping before each use: a local file has no connection to lose,
        // and the ping is one more round trip to the connection's thread.
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(1)
            .test_before_acquire(false)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        let conn = options.connect().await?;
        Ok(Self { pool, writer: WriterHandle::spawn::<SqliteBackend>(conn, max_batch) })
    }
}

/// The SQLite SQL of the writer's operations.
pub(crate) struct SqliteBackend;

impl Backend for SqliteBackend {
    type Db = Sqlite;

    async fn insert_order(
        c: &mut SqliteConnection,
        o: &OrderRecord,
    ) -> Result<Result<Inserted, StoreError>, sqlx::Error> {
        insert_order(c, o).await
    }
    async fn insert_orders(
        c: &mut SqliteConnection,
        orders: &[&OrderRecord],
    ) -> Result<Vec<Result<Inserted, StoreError>>, sqlx::Error> {
        insert_orders(c, orders).await
    }
    async fn settle(c: &mut SqliteConnection, s: &Settlement) -> Result<SettleOutcome, sqlx::Error> {
        settle(c, s).await
    }
    async fn claim(
        c: &mut SqliteConnection,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<NotificationRow>, sqlx::Error> {
        claim(c, now, lease_until, limit).await
    }
    async fn record_attempt(c: &mut SqliteConnection, a: &AttemptRecord) -> Result<(), sqlx::Error> {
        record_attempt(c, a).await
    }
    async fn refund(c: &mut SqliteConnection, n: &NewRefund) -> Result<RefundOutcome, sqlx::Error> {
        refund(c, n).await
    }
    async fn complete_refund(
        c: &mut SqliteConnection,
        id: i64,
        at: i64,
        n: Option<&NewNotification>,
    ) -> Result<bool, sqlx::Error> {
        complete_refund(c, id, at, n).await
    }
}

async fn settle(conn: &mut SqliteConnection, s: &Settlement) -> Result<SettleOutcome, sqlx::Error> {
    // One round trip to the SQLite thread: the UPDATE hands back the moved
    // order's new row, and the outbox row is inserted only if the UPDATE
    // moved it (`changes()` is the row count of the statement just before).
    // Only when nothing moved is the order read, to tell "already final"
    // from "absent".
    static SETTLE: LazyLock<String> = LazyLock::new(|| {
        format!(
            "UPDATE orders SET state = ?1, final_at = ?2, transaction_id = ?3, card_scheme = ?4 \
             WHERE eft_trade_no = ?5 AND state = 'PENDING' RETURNING {ORDER_COLUMNS}"
        )
    });
    static SETTLE_AND_NOTIFY: LazyLock<String> = LazyLock::new(|| {
        format!(
            "{}; INSERT INTO notifications (eft_trade_no, user_confirm_key, url, trade_status, payload, status, \
             attempts, next_attempt_at, created_at) SELECT eft_trade_no, user_confirm_key, ?6, ?7, ?8, 'pending', 0, ?9, ?2 \
             FROM orders WHERE eft_trade_no = ?5 AND changes() = 1",
            SETTLE.as_str()
        )
    });
    let sql = if s.notification.is_some() { SETTLE_AND_NOTIFY.as_str() } else { SETTLE.as_str() };
    let mut q = sqlx::query(AssertSqlSafe(sql))
        .bind(s.state.clone())
        .bind(s.at)
        .bind(s.transaction_id.clone())
        .bind(s.card_scheme.clone())
        .bind(s.eft_trade_no.clone());
    if let Some(n) = &s.notification {
        q = q.bind(n.url.clone()).bind(n.trade_status.clone()).bind(n.payload.clone()).bind(n.due_at);
    }
    // fetch_all, not fetch_optional: every statement must run to the end.
    let moved = q.fetch_all(&mut *conn).await?;
    let Some(row) = moved.first() else {
        let row = sqlx::query(SELECT_ORDER_BY_EFT).bind(s.eft_trade_no.clone()).fetch_optional(&mut *conn).await?;
        return Ok(match row {
            Some(row) => SettleOutcome::AlreadyFinal(rows::order(&row)?),
            None => SettleOutcome::NotFound,
        });
    };
    Ok(SettleOutcome::Applied(rows::order(row)?))
}

async fn refund(conn: &mut SqliteConnection, n: &NewRefund) -> Result<RefundOutcome, sqlx::Error> {
    let Some(order) = sqlx::query(SELECT_ORDER_BY_EFT).bind(n.eft_trade_no.clone()).fetch_optional(&mut *conn).await?
    else {
        return Ok(RefundOutcome::NotFound);
    };
    let order = rows::order(&order)?;
    let existing = sqlx::query(AssertSqlSafe(format!(
        "SELECT {REFUND_COLUMNS} FROM refunds WHERE user_confirm_key = ?1 AND out_refund_no = ?2"
    )))
    .bind(n.user_confirm_key.clone())
    .bind(n.out_refund_no.clone())
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(row) = existing {
        let r = rows::refund(&row)?;
        let of_order =
            match sqlx::query(SELECT_ORDER_BY_EFT).bind(r.eft_trade_no.clone()).fetch_optional(&mut *conn).await? {
                Some(o) => rows::order(&o)?,
                None => order,
            };
        return Ok(RefundOutcome::Existing(r, of_order));
    }
    match order.state.as_str() {
        "TRADE_SUCCESS" | "TRADE_REFUND" => {}
        "TRADE_CLOSED" => return Ok(RefundOutcome::Closed(order)),
        _ => return Ok(RefundOutcome::NotPaid(order)),
    }
    let total = order.refunded_minor + n.amount_minor;
    if total > order.amount_minor {
        return Ok(RefundOutcome::Exceeds(order));
    }
    let (trade_status, status, completed_at) = super::new_refund_state(n, total, order.amount_minor);
    let row = sqlx::query(AssertSqlSafe(format!(
        "INSERT INTO refunds (eft_trade_no, user_confirm_key, out_refund_no, fingerprint, service, amount_minor, amount_text, \
         reason, status, trade_status, notify_url, created_at, complete_after, completed_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) RETURNING {REFUND_COLUMNS}"
    )))
    .bind(n.eft_trade_no.clone())
    .bind(n.user_confirm_key.clone())
    .bind(n.out_refund_no.clone())
    .bind(n.fingerprint.clone())
    .bind(n.service.clone())
    .bind(n.amount_minor)
    .bind(n.amount_text.clone())
    .bind(n.reason.clone())
    .bind(status)
    .bind(trade_status)
    .bind(n.notify_url.clone())
    .bind(n.at)
    .bind(n.complete_after)
    .bind(completed_at)
    .fetch_one(&mut *conn)
    .await?;
    let refund = rows::refund(&row)?;
    sqlx::query("UPDATE orders SET refunded_minor = ?1, state = ?2 WHERE eft_trade_no = ?3")
        .bind(total)
        .bind(trade_status)
        .bind(n.eft_trade_no.clone())
        .execute(&mut *conn)
        .await?;
    let mut updated = order;
    updated.refunded_minor = total;
    updated.state = trade_status.to_owned();
    Ok(RefundOutcome::Applied(refund, updated))
}

async fn complete_refund(
    conn: &mut SqliteConnection,
    id: i64,
    at: i64,
    notification: Option<&NewNotification>,
) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("UPDATE refunds SET status = 'SUCCESS', completed_at = ?1 WHERE id = ?2 AND status = 'PROCESSING'")
            .bind(at)
            .bind(id)
            .execute(&mut *conn)
            .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    if let Some(n) = notification {
        sqlx::query(
            "INSERT INTO notifications (eft_trade_no, user_confirm_key, url, trade_status, payload, status, attempts, \
             next_attempt_at, created_at) SELECT eft_trade_no, user_confirm_key, ?1, ?2, ?3, 'pending', 0, ?4, ?5 \
             FROM refunds WHERE id = ?6",
        )
        .bind(n.url.clone())
        .bind(n.trade_status.clone())
        .bind(n.payload.clone())
        .bind(n.due_at)
        .bind(at)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(true)
}

async fn claim(
    conn: &mut SqliteConnection,
    now: i64,
    lease_until: i64,
    limit: i64,
) -> Result<Vec<NotificationRow>, sqlx::Error> {
    let rows = sqlx::query(
        "UPDATE notifications SET lease_until = ?1 WHERE id IN (SELECT id FROM notifications \
         WHERE status = 'pending' AND next_attempt_at <= ?2 AND (lease_until IS NULL OR lease_until <= ?2) \
         ORDER BY next_attempt_at, id LIMIT ?3) \
         RETURNING id, eft_trade_no, user_confirm_key, url, trade_status, payload, status, attempts, next_attempt_at, delivered_at",
    )
    .bind(lease_until)
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(rows::notification).collect()
}

async fn record_attempt(conn: &mut SqliteConnection, a: &AttemptRecord) -> Result<(), sqlx::Error> {
    let (status, next, delivered_at) = super::next_notification_state(a);
    // Both statements in one round trip to the SQLite thread; they share the
    // numbered parameters.
    sqlx::query(
        "INSERT INTO notification_attempts (notification_id, attempt, attempted_at, http_status, latency_ms, outcome, excerpt) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7); \
         UPDATE notifications SET attempts = ?2, status = ?8, next_attempt_at = COALESCE(?9, next_attempt_at), \
         delivered_at = ?10, lease_until = NULL WHERE id = ?1",
    )
    .bind(a.notification_id)
    .bind(a.attempt)
    .bind(a.attempted_at)
    .bind(a.http_status)
    .bind(a.latency_ms)
    .bind(a.outcome.clone())
    .bind(a.excerpt.clone())
    .bind(status)
    .bind(next)
    .bind(delivered_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Rows per multi-row `INSERT` (26 parameters each, well under SQLite's limit).
const INSERT_CHUNK: usize = 128;

/// Inserts many orders with one statement per chunk: one round trip to the
/// SQLite thread instead of one per order. Conflicting rows (an
/// `out_trade_no` already used, even earlier in the same statement) are
/// skipped by `ON CONFLICT DO NOTHING`; only when the statement inserted
/// fewer rows than it was given are the orders of that chunk looked up.
async fn insert_orders(
    c: &mut SqliteConnection,
    orders: &[&OrderRecord],
) -> Result<Vec<Result<Inserted, StoreError>>, sqlx::Error> {
    let mut out = Vec::with_capacity(orders.len());
    for chunk in orders.chunks(INSERT_CHUNK) {
        let row = format!("({})", ["?"; 26].join(", "));
        let sql = format!(
            "INSERT INTO orders (eft_trade_no, user_confirm_key, out_trade_no, fingerprint, service, pay_type, wallet, pay_scene, \
             buyer_type, amount_minor, amount_text, currency, subject, body, tid, notify_url, return_url, lang, scheme, package_name, \
             app_link, active_time, request_time, created_at, expires_at, state) VALUES {} ON CONFLICT DO NOTHING",
            vec![row; chunk.len()].join(", ")
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for o in chunk {
            q = q
                .bind(o.eft_trade_no.clone())
                .bind(o.user_confirm_key.clone())
                .bind(o.out_trade_no.clone())
                .bind(o.fingerprint.clone())
                .bind(o.service.clone())
                .bind(o.pay_type.clone())
                .bind(o.wallet.clone())
                .bind(o.pay_scene.clone())
                .bind(o.buyer_type.clone())
                .bind(o.amount_minor)
                .bind(o.amount_text.clone())
                .bind(o.currency.clone())
                .bind(o.subject.clone())
                .bind(o.body.clone())
                .bind(o.tid.clone())
                .bind(o.notify_url.clone())
                .bind(o.return_url.clone())
                .bind(o.lang.clone())
                .bind(o.scheme.clone())
                .bind(o.package_name.clone())
                .bind(o.app_link.clone())
                .bind(o.active_time)
                .bind(o.request_time.clone())
                .bind(o.created_at)
                .bind(o.expires_at)
                .bind(o.state.clone());
        }
        let inserted = q.execute(&mut *c).await?.rows_affected();
        if usize::try_from(inserted).is_ok_and(|n| n == chunk.len()) {
            out.extend(chunk.iter().map(|_| Ok(Inserted::New)));
            continue;
        }
        for o in chunk {
            out.push(inserted_or_existing(c, o).await?);
        }
    }
    Ok(out)
}

/// After a partial multi-row insert: whether `o` is among the rows inserted
/// (the stored order under its `out_trade_no` carries its `eft_trade_no`)
/// or was skipped for an order stored before it.
async fn inserted_or_existing(
    c: &mut SqliteConnection,
    o: &OrderRecord,
) -> Result<Result<Inserted, StoreError>, sqlx::Error> {
    let existing = sqlx::query(SELECT_ORDER_BY_OUT_TRADE_NO)
        .bind(o.user_confirm_key.clone())
        .bind(o.out_trade_no.clone())
        .fetch_optional(&mut *c)
        .await?;
    Ok(match existing {
        Some(row) => {
            let stored = rows::order(&row)?;
            if stored.eft_trade_no == o.eft_trade_no {
                Ok(Inserted::New)
            } else {
                Ok(Inserted::Existing(Box::new(stored)))
            }
        }
        None => Err(StoreError::IdCollision),
    })
}

async fn insert_order(
    conn: &mut SqliteConnection,
    o: &OrderRecord,
) -> Result<Result<Inserted, StoreError>, sqlx::Error> {
    let mut one = insert_orders(conn, &[o]).await?;
    Ok(one.pop().unwrap_or(Err(StoreError::Corrupt("missing insert result"))))
}

const SELECT_ORDER_BY_OUT_TRADE_NO: &str = "SELECT eft_trade_no, user_confirm_key, out_trade_no, fingerprint, service, pay_type, wallet, \
     pay_scene, buyer_type, amount_minor, amount_text, currency, subject, body, tid, notify_url, return_url, lang, scheme, \
     package_name, app_link, active_time, request_time, created_at, expires_at, state, final_at, transaction_id, card_scheme, refunded_minor \
     FROM orders WHERE user_confirm_key = ?1 AND out_trade_no = ?2";

const SELECT_ORDER_BY_EFT: &str = "SELECT eft_trade_no, user_confirm_key, out_trade_no, fingerprint, service, pay_type, wallet, \
     pay_scene, buyer_type, amount_minor, amount_text, currency, subject, body, tid, notify_url, return_url, lang, scheme, \
     package_name, app_link, active_time, request_time, created_at, expires_at, state, final_at, transaction_id, card_scheme, refunded_minor \
     FROM orders WHERE eft_trade_no = ?1";

const SELECT_EXPIRED: &str = "SELECT eft_trade_no, user_confirm_key, out_trade_no, fingerprint, service, pay_type, wallet, \
     pay_scene, buyer_type, amount_minor, amount_text, currency, subject, body, tid, notify_url, return_url, lang, scheme, \
     package_name, app_link, active_time, request_time, created_at, expires_at, state, final_at, transaction_id, card_scheme, refunded_minor \
     FROM orders WHERE state = 'PENDING' AND expires_at <= ?1 ORDER BY expires_at LIMIT ?2";

impl Store for SqliteStore {
    fn merchant<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Merchant>> {
        Box::pin(async move {
            let row =
                sqlx::query("SELECT user_confirm_key, name, secret, status, allowed_ports FROM merchants WHERE user_confirm_key = ?1")
                    .bind(key.to_owned())
                    .fetch_optional(&self.pool)
                    .await?;
            row.as_ref().map(rows::merchant).transpose()
        })
    }

    fn add_merchant(&self, new: NewMerchant) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let m = new.merchant;
            let done = sqlx::query(
                "INSERT INTO merchants (user_confirm_key, name, secret, status, created_at, allowed_ports) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(m.key.clone())
            .bind(m.name.clone())
            .bind(m.secret.expose_secret().to_owned())
            .bind(m.status.as_str())
            .bind(new.created_at)
            .bind(crate::merchant::format_ports(&m.allowed_ports))
            .execute(&self.pool)
            .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::DuplicateMerchant(m.key));
            }
            Ok(())
        })
    }

    fn list_merchants(&self) -> StoreFuture<'_, Vec<MerchantSummary>> {
        Box::pin(async move {
            let rows = sqlx::query("SELECT user_confirm_key, name, status, created_at FROM merchants ORDER BY created_at, user_confirm_key")
                .fetch_all(&self.pool)
                .await?;
            rows.iter().map(super::merchant_summary).collect()
        })
    }

    fn set_merchant_status<'a>(&'a self, key: &'a str, status: MerchantStatus) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let done = sqlx::query("UPDATE merchants SET status = ?1 WHERE user_confirm_key = ?2")
                .bind(status.as_str())
                .bind(key.to_owned())
                .execute(&self.pool)
                .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    fn place_order(&self, order: OrderRecord) -> StoreFuture<'_, PlaceOutcome> {
        Box::pin(self.writer.write(|reply| WriteOp::PlaceOrder(Box::new(order), reply)))
    }

    fn order_by_out_trade_no<'a>(
        &'a self,
        key: &'a str,
        out_trade_no: &'a str,
    ) -> StoreFuture<'a, Option<OrderRecord>> {
        Box::pin(async move {
            let row = sqlx::query(SELECT_ORDER_BY_OUT_TRADE_NO)
                .bind(key.to_owned())
                .bind(out_trade_no.to_owned())
                .fetch_optional(&self.pool)
                .await?;
            Ok(row.as_ref().map(rows::order).transpose()?)
        })
    }

    fn order_by_eft_trade_no<'a>(&'a self, eft_trade_no: &'a str) -> StoreFuture<'a, Option<OrderRecord>> {
        Box::pin(async move {
            let row = sqlx::query(SELECT_ORDER_BY_EFT).bind(eft_trade_no.to_owned()).fetch_optional(&self.pool).await?;
            Ok(row.as_ref().map(rows::order).transpose()?)
        })
    }

    fn settle(&self, settlement: Settlement) -> StoreFuture<'_, SettleOutcome> {
        Box::pin(self.writer.write(|reply| WriteOp::Settle(Box::new(settlement), reply)))
    }

    fn expired_pending(&self, now: i64, limit: i64) -> StoreFuture<'_, Vec<OrderRecord>> {
        Box::pin(async move {
            let rows = sqlx::query(SELECT_EXPIRED).bind(now).bind(limit).fetch_all(&self.pool).await?;
            Ok(rows.iter().map(rows::order).collect::<Result<_, _>>()?)
        })
    }

    fn claim_notifications(&self, now: i64, lease_until: i64, limit: i64) -> StoreFuture<'_, Vec<NotificationRow>> {
        Box::pin(self.writer.write(move |reply| WriteOp::Claim { now, lease_until, limit, reply }))
    }

    fn record_attempt(&self, attempt: AttemptRecord) -> StoreFuture<'_, ()> {
        Box::pin(self.writer.write(|reply| WriteOp::Attempt(Box::new(attempt), reply)))
    }

    fn notifications_for_order<'a>(&'a self, eft_trade_no: &'a str) -> StoreFuture<'a, Vec<NotificationRow>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT id, eft_trade_no, user_confirm_key, url, trade_status, payload, status, attempts, next_attempt_at, delivered_at \
                 FROM notifications WHERE eft_trade_no = ?1 ORDER BY id",
            )
            .bind(eft_trade_no.to_owned())
            .fetch_all(&self.pool)
            .await?;
            Ok(rows.iter().map(rows::notification).collect::<Result<_, _>>()?)
        })
    }

    fn attempts_for_notification(&self, id: i64) -> StoreFuture<'_, Vec<AttemptRow>> {
        Box::pin(async move {
            let rows = sqlx::query(
                "SELECT attempt, attempted_at, http_status, latency_ms, outcome, excerpt FROM notification_attempts \
                 WHERE notification_id = ?1 ORDER BY attempt",
            )
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
            Ok(rows.iter().map(rows::attempt).collect::<Result<_, _>>()?)
        })
    }

    fn count_orders(&self) -> StoreFuture<'_, i64> {
        Box::pin(async move {
            Ok(sqlx::query("SELECT COUNT(*) AS n FROM orders").fetch_one(&self.pool).await?.try_get("n")?)
        })
    }

    fn setting_or_init<'a>(&'a self, name: &'a str, init: String) -> StoreFuture<'a, String> {
        Box::pin(async move {
            sqlx::query("INSERT INTO gateway_settings (name, value) VALUES (?1, ?2) ON CONFLICT DO NOTHING")
                .bind(name.to_owned())
                .bind(init)
                .execute(&self.pool)
                .await?;
            Ok(sqlx::query("SELECT value FROM gateway_settings WHERE name = ?1")
                .bind(name.to_owned())
                .fetch_one(&self.pool)
                .await?
                .try_get("value")?)
        })
    }

    fn refund(&self, refund: NewRefund) -> StoreFuture<'_, RefundOutcome> {
        Box::pin(self.writer.write(|reply| WriteOp::Refund(Box::new(refund), reply)))
    }

    fn complete_refund(&self, id: i64, at: i64, notification: Option<NewNotification>) -> StoreFuture<'_, bool> {
        Box::pin(self.writer.write(move |reply| WriteOp::CompleteRefund {
            id,
            at,
            notification: notification.map(Box::new),
            reply,
        }))
    }

    fn refund_by_out_refund_no<'a>(
        &'a self,
        key: &'a str,
        out_refund_no: &'a str,
    ) -> StoreFuture<'a, Option<RefundRecord>> {
        Box::pin(async move {
            let row = sqlx::query(AssertSqlSafe(format!(
                "SELECT {REFUND_COLUMNS} FROM refunds WHERE user_confirm_key = ?1 AND out_refund_no = ?2"
            )))
            .bind(key.to_owned())
            .bind(out_refund_no.to_owned())
            .fetch_optional(&self.pool)
            .await?;
            Ok(row.as_ref().map(rows::refund).transpose()?)
        })
    }

    fn due_refunds(&self, now: i64, limit: i64) -> StoreFuture<'_, Vec<RefundRecord>> {
        Box::pin(async move {
            let rows = sqlx::query(AssertSqlSafe(format!(
                "SELECT {REFUND_COLUMNS} FROM refunds WHERE status = 'PROCESSING' AND complete_after <= ?1 \
                 ORDER BY complete_after LIMIT ?2"
            )))
            .bind(now)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
            Ok(rows.iter().map(rows::refund).collect::<Result<_, _>>()?)
        })
    }

    fn refunds_total<'a>(&'a self, eft_trade_no: &'a str) -> StoreFuture<'a, i64> {
        Box::pin(async move {
            let row =
                sqlx::query("SELECT COALESCE(SUM(amount_minor), 0) AS total FROM refunds WHERE eft_trade_no = ?1")
                    .bind(eft_trade_no.to_owned())
                    .fetch_one(&self.pool)
                    .await?;
            Ok(row.try_get("total")?)
        })
    }

    fn writer_stats(&self) -> &WriterStats {
        self.writer.stats()
    }

    fn close(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            self.writer.close().await;
            self.pool.close().await;
            Ok(())
        })
    }
}

rows::store_row!(SqliteRow);
