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
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};
use sqlx::{ConnectOptions, Connection, Row};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::{NewMerchant, OrderRecord, PlaceOutcome, Store, StoreError, StoreFuture, WriterStats};
use crate::merchant::{Merchant, MerchantStatus, MerchantSummary};

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "openvmp.db";

type Reply = oneshot::Sender<Result<PlaceOutcome, StoreError>>;

struct WriteOp {
    order: OrderRecord,
    reply: Reply,
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
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .min_connections(1)
            .connect_with(options.clone())
            .await?;
        sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
        let conn = options.connect().await?;
        let stats = Arc::new(WriterStats::default());
        let (tx, rx) = mpsc::channel(8192);
        let task = tokio::spawn(writer_loop(conn, rx, max_batch.max(1), Arc::clone(&stats)));
        Ok(Self {
            pool,
            sender: std::sync::Mutex::new(Some(tx)),
            task: Mutex::new(Some(task)),
            stats,
        })
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
        match apply_batch(&mut conn, &batch).await {
            Ok(results) => {
                stats.record(batch.len());
                for (op, result) in batch.drain(..).zip(results) {
                    let _ = op.reply.send(result);
                }
            }
            Err(e) => {
                tracing::error!(error.message = %e, batch = batch.len(), "group commit failed; batch rolled back");
                for op in batch.drain(..) {
                    let _ = op
                        .reply
                        .send(Err(StoreError::Database(sqlx::Error::Protocol(
                            "batch rolled back".into(),
                        ))));
                }
            }
        }
    }
    let _ = conn.close().await;
}

/// Runs every write of the batch in one transaction. The outer error aborts
/// (and rolls back) the whole batch; inner results are per write.
async fn apply_batch(
    conn: &mut SqliteConnection,
    batch: &[WriteOp],
) -> Result<Vec<Result<PlaceOutcome, StoreError>>, sqlx::Error> {
    let mut tx = conn.begin().await?;
    let mut results = Vec::with_capacity(batch.len());
    for op in batch {
        results.push(insert_order(&mut tx, &op.order).await?);
    }
    tx.commit().await?;
    Ok(results)
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
        Some(row) => order_from_row(&row).map(PlaceOutcome::Existing),
        None => Err(StoreError::IdCollision),
    })
}

const SELECT_ORDER_BY_OUT_TRADE_NO: &str = "SELECT eft_trade_no, user_confirm_key, out_trade_no, fingerprint, service, pay_type, wallet, \
     pay_scene, buyer_type, amount_minor, amount_text, currency, subject, body, tid, notify_url, return_url, lang, scheme, \
     package_name, app_link, active_time, request_time, created_at, expires_at, state \
     FROM orders WHERE user_confirm_key = ?1 AND out_trade_no = ?2";

fn order_from_row(r: &SqliteRow) -> Result<OrderRecord, StoreError> {
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

impl Store for SqliteStore {
    fn merchant<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Merchant>> {
        Box::pin(async move {
            let row = sqlx::query("SELECT user_confirm_key, name, secret, status FROM merchants WHERE user_confirm_key = ?1")
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
                        status: MerchantStatus::parse(&status)
                            .ok_or(StoreError::Corrupt("merchants.status"))?,
                        created_at: r.try_get("created_at")?,
                    })
                })
                .collect()
        })
    }

    fn set_merchant_status<'a>(
        &'a self,
        key: &'a str,
        status: MerchantStatus,
    ) -> StoreFuture<'a, bool> {
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
        Box::pin(async move {
            let (reply, answer) = oneshot::channel();
            let sender = self
                .sender
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clone();
            let sender = sender.ok_or(StoreError::WriterStopped)?;
            sender
                .send(WriteOp { order, reply })
                .await
                .map_err(|_| StoreError::WriterStopped)?;
            answer.await.map_err(|_| StoreError::WriterStopped)?
        })
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
            row.as_ref().map(order_from_row).transpose()
        })
    }

    fn count_orders(&self) -> StoreFuture<'_, i64> {
        Box::pin(async move {
            Ok(sqlx::query("SELECT COUNT(*) AS n FROM orders")
                .fetch_one(&self.pool)
                .await?
                .try_get("n")?)
        })
    }

    fn setting_or_init<'a>(&'a self, name: &'a str, init: String) -> StoreFuture<'a, String> {
        Box::pin(async move {
            sqlx::query(
                "INSERT INTO gateway_settings (name, value) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            )
            .bind(name.to_owned())
            .bind(init)
            .execute(&self.pool)
            .await?;
            Ok(
                sqlx::query("SELECT value FROM gateway_settings WHERE name = ?1")
                    .bind(name.to_owned())
                    .fetch_one(&self.pool)
                    .await?
                    .try_get("value")?,
            )
        })
    }

    fn writer_stats(&self) -> &WriterStats {
        &self.stats
    }

    fn close(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            // Dropping our sender ends the writer loop after it drains the queue.
            drop(
                self.sender
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .take(),
            );
            if let Some(task) = self.task.lock().await.take() {
                let _ = task.await;
            }
            self.pool.close().await;
            Ok(())
        })
    }
}
