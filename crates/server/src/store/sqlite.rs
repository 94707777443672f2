//! The embedded SQLite store.
//!
//! Reads go through a small pool. Order writes go to one writer task that
//! owns one connection: it takes the first queued write, drains whatever
//! else is already queued (up to `max_batch`), runs them all in one
//! transaction and commits once (`synchronous=FULL`, so one fsync for the
//! batch), then answers every waiter. Under load, batches grow by
//! themselves while the previous fsync is in flight; when idle, a lone
//! write commits at once. No timer, no lost writes.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, ConnectOptions, Connection, Row};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::{
    AttemptRecord, AttemptRow, NewMerchant, NewNotification, NewRefund, NotificationRow, OrderRecord, PlaceOutcome,
    RefundOutcome, RefundRecord, SettleOutcome, Settlement, Store, StoreError, StoreFuture, WriterStats,
};
use crate::merchant::{Merchant, MerchantStatus, MerchantSummary};

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "openvmp.db";

type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// One write for the group-commit writer, with where to send its result.
enum WriteOp {
    PlaceOrder(Box<OrderRecord>, Reply<PlaceOutcome>),
    Settle(Box<Settlement>, Reply<SettleOutcome>),
    Claim { now: i64, lease_until: i64, limit: i64, reply: Reply<Vec<NotificationRow>> },
    Attempt(Box<AttemptRecord>, Reply<()>),
    Refund(Box<NewRefund>, Reply<RefundOutcome>),
    CompleteRefund { id: i64, at: i64, notification: Option<Box<NewNotification>>, reply: Reply<bool> },
}

/// A write's result, held until the batch commits.
// Results live for one batch in one Vec; boxing them would only add allocations.
#[allow(clippy::large_enum_variant)]
enum Done {
    PlaceOrder(Result<PlaceOutcome, StoreError>, Reply<PlaceOutcome>),
    Settle(Result<SettleOutcome, StoreError>, Reply<SettleOutcome>),
    Claim(Result<Vec<NotificationRow>, StoreError>, Reply<Vec<NotificationRow>>),
    Attempt(Result<(), StoreError>, Reply<()>),
    Refund(Result<RefundOutcome, StoreError>, Reply<RefundOutcome>),
    CompleteRefund(Result<bool, StoreError>, Reply<bool>),
}

impl Done {
    fn send(self) {
        // A waiter that went away (client disconnected) is not an error.
        match self {
            Done::PlaceOrder(r, tx) => drop(tx.send(r)),
            Done::Settle(r, tx) => drop(tx.send(r)),
            Done::Claim(r, tx) => drop(tx.send(r)),
            Done::Attempt(r, tx) => drop(tx.send(r)),
            Done::Refund(r, tx) => drop(tx.send(r)),
            Done::CompleteRefund(r, tx) => drop(tx.send(r)),
        }
    }

    fn fail(self) {
        fn err<T>() -> Result<T, StoreError> {
            Err(StoreError::Database(sqlx::Error::Protocol("batch rolled back".into())))
        }
        match self {
            Done::PlaceOrder(_, tx) => drop(tx.send(err())),
            Done::Settle(_, tx) => drop(tx.send(err())),
            Done::Claim(_, tx) => drop(tx.send(err())),
            Done::Attempt(_, tx) => drop(tx.send(err())),
            Done::Refund(_, tx) => drop(tx.send(err())),
            Done::CompleteRefund(_, tx) => drop(tx.send(err())),
        }
    }
}

/// SQLite store with a group-commit writer.
pub struct SqliteStore {
    pool: SqlitePool,
    /// `None` once [`Store::close`] ran: new writes are refused.
    sender: std::sync::Mutex<Option<mpsc::Sender<WriteOp>>>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    stats: Arc<WriterStats>,
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
        let pool = SqlitePoolOptions::new().max_connections(4).min_connections(1).connect_with(options.clone()).await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        let conn = options.connect().await?;
        let stats = Arc::new(WriterStats::default());
        let (tx, rx) = mpsc::channel(8192);
        let task = tokio::spawn(writer_loop(conn, rx, max_batch.max(1), Arc::clone(&stats)));
        Ok(Self { pool, sender: std::sync::Mutex::new(Some(tx)), task: Mutex::new(Some(task)), stats })
    }
}

async fn writer_loop(
    mut conn: SqliteConnection,
    mut rx: mpsc::Receiver<WriteOp>,
    max_batch: usize,
    stats: Arc<WriterStats>,
) {
    let mut batch: Vec<WriteOp> = Vec::with_capacity(max_batch);
    while let Some(first) = rx.recv().await {
        batch.push(first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(op) => batch.push(op),
                Err(_) => break,
            }
        }
        let size = batch.len();
        let orders = batch.iter().filter(|op| matches!(op, WriteOp::PlaceOrder(..))).count();
        let (result, done) = apply_batch(&mut conn, batch.drain(..)).await;
        match result {
            Ok(()) => {
                stats.record(size, orders);
                done.into_iter().for_each(Done::send);
            }
            Err(e) => {
                tracing::error!(error.message = %e, batch = size, "group commit failed; batch rolled back");
                done.into_iter().for_each(Done::fail);
            }
        }
    }
    let _ = conn.close().await;
}

impl WriteOp {
    /// The op was not run (its batch failed before or around it).
    fn skipped(self) -> Done {
        match self {
            WriteOp::PlaceOrder(_, r) => Done::PlaceOrder(Err(StoreError::WriterStopped), r),
            WriteOp::Settle(_, r) => Done::Settle(Err(StoreError::WriterStopped), r),
            WriteOp::Claim { reply, .. } => Done::Claim(Err(StoreError::WriterStopped), reply),
            WriteOp::Attempt(_, r) => Done::Attempt(Err(StoreError::WriterStopped), r),
            WriteOp::Refund(_, r) => Done::Refund(Err(StoreError::WriterStopped), r),
            WriteOp::CompleteRefund { reply, .. } => Done::CompleteRefund(Err(StoreError::WriterStopped), reply),
        }
    }

    /// Runs the op inside the batch transaction. A database error aborts
    /// the batch; the op's waiter is answered when the batch ends.
    async fn run(self, conn: &mut SqliteConnection) -> Result<Done, (sqlx::Error, Done)> {
        macro_rules! step {
            ($fut:expr, $variant:ident, $reply:expr) => {
                match $fut.await {
                    Ok(v) => Ok(Done::$variant(Ok(v), $reply)),
                    Err(e) => Err((e, Done::$variant(Err(StoreError::WriterStopped), $reply))),
                }
            };
        }
        match self {
            WriteOp::PlaceOrder(order, reply) => match insert_order(conn, &order).await {
                Ok(r) => Ok(Done::PlaceOrder(r, reply)),
                Err(e) => Err((e, Done::PlaceOrder(Err(StoreError::WriterStopped), reply))),
            },
            WriteOp::Settle(s, reply) => step!(settle(conn, &s), Settle, reply),
            WriteOp::Claim { now, lease_until, limit, reply } => {
                step!(claim(conn, now, lease_until, limit), Claim, reply)
            }
            WriteOp::Attempt(a, reply) => step!(record_attempt(conn, &a), Attempt, reply),
            WriteOp::Refund(r, reply) => step!(refund(conn, &r), Refund, reply),
            WriteOp::CompleteRefund { id, at, notification, reply } => {
                step!(complete_refund(conn, id, at, notification.as_deref()), CompleteRefund, reply)
            }
        }
    }
}

/// Runs every write of the batch in one transaction and commits once. On a
/// database error the whole batch is rolled back and every waiter is told.
async fn apply_batch(
    conn: &mut SqliteConnection,
    batch: impl Iterator<Item = WriteOp>,
) -> (Result<(), sqlx::Error>, Vec<Done>) {
    let mut tx = match conn.begin().await {
        Ok(tx) => tx,
        Err(e) => return (Err(e), batch.map(WriteOp::skipped).collect()),
    };
    let mut done = Vec::new();
    let mut failure = None;
    for op in batch {
        if failure.is_some() {
            done.push(op.skipped());
            continue;
        }
        match op.run(&mut tx).await {
            Ok(d) => done.push(d),
            Err((e, d)) => {
                failure = Some(e);
                done.push(d);
            }
        }
    }
    if let Some(e) = failure {
        let _ = tx.rollback().await;
        return (Err(e), done);
    }
    (tx.commit().await, done)
}

async fn settle(conn: &mut SqliteConnection, s: &Settlement) -> Result<SettleOutcome, sqlx::Error> {
    let moved = sqlx::query(
        "UPDATE orders SET state = ?1, final_at = ?2, transaction_id = ?3, card_scheme = ?4 \
         WHERE eft_trade_no = ?5 AND state = 'PENDING'",
    )
    .bind(s.state.clone())
    .bind(s.at)
    .bind(s.transaction_id.clone())
    .bind(s.card_scheme.clone())
    .bind(s.eft_trade_no.clone())
    .execute(&mut *conn)
    .await?;
    let row = sqlx::query(SELECT_ORDER_BY_EFT).bind(s.eft_trade_no.clone()).fetch_optional(&mut *conn).await?;
    let Some(row) = row else { return Ok(SettleOutcome::NotFound) };
    let order = order_from_row(&row)?;
    if moved.rows_affected() == 0 {
        return Ok(SettleOutcome::AlreadyFinal(order));
    }
    if let Some(n) = &s.notification {
        sqlx::query(
            "INSERT INTO notifications (eft_trade_no, user_confirm_key, url, trade_status, payload, status, attempts, \
             next_attempt_at, created_at) VALUES (?1, ?2, ?3, ?4, ?5, 'pending', 0, ?6, ?7)",
        )
        .bind(order.eft_trade_no.clone())
        .bind(order.user_confirm_key.clone())
        .bind(n.url.clone())
        .bind(n.trade_status.clone())
        .bind(n.payload.clone())
        .bind(n.due_at)
        .bind(s.at)
        .execute(&mut *conn)
        .await?;
    }
    Ok(SettleOutcome::Applied(order))
}

const REFUND_COLUMNS: &str = "id, eft_trade_no, user_confirm_key, out_refund_no, fingerprint, service, amount_minor, \
     amount_text, reason, status, trade_status, notify_url, created_at, complete_after, completed_at";

fn refund_from_row(r: &SqliteRow) -> Result<RefundRecord, sqlx::Error> {
    Ok(RefundRecord {
        id: r.try_get("id")?,
        eft_trade_no: r.try_get("eft_trade_no")?,
        user_confirm_key: r.try_get("user_confirm_key")?,
        out_refund_no: r.try_get("out_refund_no")?,
        fingerprint: r.try_get("fingerprint")?,
        service: r.try_get("service")?,
        amount_minor: r.try_get("amount_minor")?,
        amount_text: r.try_get("amount_text")?,
        reason: r.try_get("reason")?,
        status: r.try_get("status")?,
        trade_status: r.try_get("trade_status")?,
        notify_url: r.try_get("notify_url")?,
        created_at: r.try_get("created_at")?,
        complete_after: r.try_get("complete_after")?,
        completed_at: r.try_get("completed_at")?,
    })
}

async fn refund(conn: &mut SqliteConnection, n: &NewRefund) -> Result<RefundOutcome, sqlx::Error> {
    let Some(order) = sqlx::query(SELECT_ORDER_BY_EFT).bind(n.eft_trade_no.clone()).fetch_optional(&mut *conn).await?
    else {
        return Ok(RefundOutcome::NotFound);
    };
    let order = order_from_row(&order)?;
    let existing = sqlx::query(AssertSqlSafe(format!(
        "SELECT {REFUND_COLUMNS} FROM refunds WHERE user_confirm_key = ?1 AND out_refund_no = ?2"
    )))
    .bind(n.user_confirm_key.clone())
    .bind(n.out_refund_no.clone())
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(row) = existing {
        let r = refund_from_row(&row)?;
        let of_order =
            match sqlx::query(SELECT_ORDER_BY_EFT).bind(r.eft_trade_no.clone()).fetch_optional(&mut *conn).await? {
                Some(o) => order_from_row(&o)?,
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
    let trade_status = if total == order.amount_minor { "TRADE_CLOSED" } else { "TRADE_REFUND" };
    let status = if n.complete_after.is_some() { "PROCESSING" } else { "SUCCESS" };
    let completed_at = if n.complete_after.is_some() { None } else { Some(n.at) };
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
    let refund = refund_from_row(&row)?;
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

const NOTIFICATION_COLUMNS: &str =
    "id, eft_trade_no, user_confirm_key, url, trade_status, payload, status, attempts, next_attempt_at, delivered_at";

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
    let _ = NOTIFICATION_COLUMNS;
    rows.iter().map(notification_from_row).collect()
}

async fn record_attempt(conn: &mut SqliteConnection, a: &AttemptRecord) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO notification_attempts (notification_id, attempt, attempted_at, http_status, latency_ms, outcome, excerpt) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )
    .bind(a.notification_id)
    .bind(a.attempt)
    .bind(a.attempted_at)
    .bind(a.http_status)
    .bind(a.latency_ms)
    .bind(a.outcome.clone())
    .bind(a.excerpt.clone())
    .execute(&mut *conn)
    .await?;
    let (status, next, delivered_at) = match (a.outcome.as_str(), a.retry_at) {
        ("delivered", _) => ("delivered", None, Some(a.attempted_at)),
        (_, Some(t)) => ("pending", Some(t), None),
        (_, None) => ("failed", None, None),
    };
    sqlx::query(
        "UPDATE notifications SET attempts = ?1, status = ?2, next_attempt_at = COALESCE(?3, next_attempt_at), \
         delivered_at = ?4, lease_until = NULL WHERE id = ?5",
    )
    .bind(a.attempt)
    .bind(status)
    .bind(next)
    .bind(delivered_at)
    .bind(a.notification_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

fn notification_from_row(r: &SqliteRow) -> Result<NotificationRow, sqlx::Error> {
    Ok(NotificationRow {
        id: r.try_get("id")?,
        eft_trade_no: r.try_get("eft_trade_no")?,
        user_confirm_key: r.try_get("user_confirm_key")?,
        url: r.try_get("url")?,
        trade_status: r.try_get("trade_status")?,
        payload: r.try_get("payload")?,
        status: r.try_get("status")?,
        attempts: r.try_get("attempts")?,
        next_attempt_at: r.try_get("next_attempt_at")?,
        delivered_at: r.try_get("delivered_at")?,
    })
}

async fn insert_order(
    conn: &mut SqliteConnection,
    o: &OrderRecord,
) -> Result<Result<PlaceOutcome, StoreError>, sqlx::Error> {
    let done = sqlx::query(
        "INSERT INTO orders (eft_trade_no, user_confirm_key, out_trade_no, fingerprint, service, pay_type, wallet, pay_scene, \
         buyer_type, amount_minor, amount_text, currency, subject, body, tid, notify_url, return_url, lang, scheme, package_name, \
         app_link, active_time, request_time, created_at, expires_at, state) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26) \
         ON CONFLICT DO NOTHING",
    )
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
    .bind(o.state.clone())
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 1 {
        return Ok(Ok(PlaceOutcome::Created(o.clone())));
    }
    let existing = sqlx::query(SELECT_ORDER_BY_OUT_TRADE_NO)
        .bind(o.user_confirm_key.clone())
        .bind(o.out_trade_no.clone())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match existing {
        Some(row) => Ok(PlaceOutcome::Existing(order_from_row(&row)?)),
        None => Err(StoreError::IdCollision),
    })
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

fn order_from_row(r: &SqliteRow) -> Result<OrderRecord, sqlx::Error> {
    Ok(OrderRecord {
        eft_trade_no: r.try_get("eft_trade_no")?,
        user_confirm_key: r.try_get("user_confirm_key")?,
        out_trade_no: r.try_get("out_trade_no")?,
        fingerprint: r.try_get("fingerprint")?,
        service: r.try_get("service")?,
        pay_type: r.try_get("pay_type")?,
        wallet: r.try_get("wallet")?,
        pay_scene: r.try_get("pay_scene")?,
        buyer_type: r.try_get("buyer_type")?,
        amount_minor: r.try_get("amount_minor")?,
        amount_text: r.try_get("amount_text")?,
        currency: r.try_get("currency")?,
        subject: r.try_get("subject")?,
        body: r.try_get("body")?,
        tid: r.try_get("tid")?,
        notify_url: r.try_get("notify_url")?,
        return_url: r.try_get("return_url")?,
        lang: r.try_get("lang")?,
        scheme: r.try_get("scheme")?,
        package_name: r.try_get("package_name")?,
        app_link: r.try_get("app_link")?,
        active_time: r.try_get("active_time")?,
        request_time: r.try_get("request_time")?,
        created_at: r.try_get("created_at")?,
        expires_at: r.try_get("expires_at")?,
        state: r.try_get("state")?,
        final_at: r.try_get("final_at")?,
        transaction_id: r.try_get("transaction_id")?,
        card_scheme: r.try_get("card_scheme")?,
        refunded_minor: r.try_get("refunded_minor")?,
    })
}

fn merchant_from_row(r: &SqliteRow) -> Result<Merchant, StoreError> {
    let status: String = r.try_get("status")?;
    let secret: String = r.try_get("secret")?;
    Ok(Merchant {
        key: r.try_get("user_confirm_key")?,
        name: r.try_get("name")?,
        secret: SecretString::from(secret),
        status: MerchantStatus::parse(&status).ok_or(StoreError::Corrupt("merchants.status"))?,
    })
}

impl SqliteStore {
    /// Queues a write for the group-commit writer and waits for its commit.
    async fn write<T>(&self, op: impl FnOnce(Reply<T>) -> WriteOp) -> Result<T, StoreError> {
        let (reply, answer) = oneshot::channel();
        let sender = self.sender.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        let sender = sender.ok_or(StoreError::WriterStopped)?;
        sender.send(op(reply)).await.map_err(|_| StoreError::WriterStopped)?;
        answer.await.map_err(|_| StoreError::WriterStopped)?
    }
}

impl Store for SqliteStore {
    fn merchant<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Merchant>> {
        Box::pin(async move {
            let row =
                sqlx::query("SELECT user_confirm_key, name, secret, status FROM merchants WHERE user_confirm_key = ?1")
                    .bind(key.to_owned())
                    .fetch_optional(&self.pool)
                    .await?;
            row.as_ref().map(merchant_from_row).transpose()
        })
    }

    fn add_merchant(&self, new: NewMerchant) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let m = new.merchant;
            let done = sqlx::query(
                "INSERT INTO merchants (user_confirm_key, name, secret, status, created_at) VALUES (?1, ?2, ?3, ?4, ?5) \
                 ON CONFLICT DO NOTHING",
            )
            .bind(m.key.clone())
            .bind(m.name.clone())
            .bind(m.secret.expose_secret().to_owned())
            .bind(m.status.as_str())
            .bind(new.created_at)
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
            rows.iter()
                .map(|r| {
                    let status: String = r.try_get("status")?;
                    Ok(MerchantSummary {
                        key: r.try_get("user_confirm_key")?,
                        name: r.try_get("name")?,
                        status: MerchantStatus::parse(&status).ok_or(StoreError::Corrupt("merchants.status"))?,
                        created_at: r.try_get("created_at")?,
                    })
                })
                .collect()
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
        Box::pin(self.write(|reply| WriteOp::PlaceOrder(Box::new(order), reply)))
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
            Ok(row.as_ref().map(order_from_row).transpose()?)
        })
    }

    fn order_by_eft_trade_no<'a>(&'a self, eft_trade_no: &'a str) -> StoreFuture<'a, Option<OrderRecord>> {
        Box::pin(async move {
            let row = sqlx::query(SELECT_ORDER_BY_EFT).bind(eft_trade_no.to_owned()).fetch_optional(&self.pool).await?;
            Ok(row.as_ref().map(order_from_row).transpose()?)
        })
    }

    fn settle(&self, settlement: Settlement) -> StoreFuture<'_, SettleOutcome> {
        Box::pin(self.write(|reply| WriteOp::Settle(Box::new(settlement), reply)))
    }

    fn expired_pending(&self, now: i64, limit: i64) -> StoreFuture<'_, Vec<OrderRecord>> {
        Box::pin(async move {
            let rows = sqlx::query(SELECT_EXPIRED).bind(now).bind(limit).fetch_all(&self.pool).await?;
            Ok(rows.iter().map(order_from_row).collect::<Result<_, _>>()?)
        })
    }

    fn claim_notifications(&self, now: i64, lease_until: i64, limit: i64) -> StoreFuture<'_, Vec<NotificationRow>> {
        Box::pin(self.write(move |reply| WriteOp::Claim { now, lease_until, limit, reply }))
    }

    fn record_attempt(&self, attempt: AttemptRecord) -> StoreFuture<'_, ()> {
        Box::pin(self.write(|reply| WriteOp::Attempt(Box::new(attempt), reply)))
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
            Ok(rows.iter().map(notification_from_row).collect::<Result<_, _>>()?)
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
            rows.iter()
                .map(|r| {
                    Ok(AttemptRow {
                        attempt: r.try_get("attempt")?,
                        attempted_at: r.try_get("attempted_at")?,
                        http_status: r.try_get("http_status")?,
                        latency_ms: r.try_get("latency_ms")?,
                        outcome: r.try_get("outcome")?,
                        excerpt: r.try_get("excerpt")?,
                    })
                })
                .collect()
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
        Box::pin(self.write(|reply| WriteOp::Refund(Box::new(refund), reply)))
    }

    fn complete_refund(&self, id: i64, at: i64, notification: Option<NewNotification>) -> StoreFuture<'_, bool> {
        Box::pin(self.write(move |reply| WriteOp::CompleteRefund {
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
            Ok(row.as_ref().map(refund_from_row).transpose()?)
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
            Ok(rows.iter().map(refund_from_row).collect::<Result<_, _>>()?)
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
        &self.stats
    }

    fn close(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            // Dropping our sender ends the writer loop after it drains the queue.
            drop(self.sender.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take());
            if let Some(task) = self.task.lock().await.take() {
                let _ = task.await;
            }
            self.pool.close().await;
            Ok(())
        })
    }
}
