//! The embedded SQLite store: WAL, `synchronous=FULL`.
//!
//! Reads and merchant administration go through a small sqlx pool. Every
//! other write goes through the group-commit writer ([`super::writer`]) on
//! its own synchronous connection and thread ([`super::sqlite_writer`]), so
//! one fsync covers a whole batch of concurrent writes.

use std::path::Path;
use std::time::Duration;

use secrecy::ExposeSecret;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, ConnectOptions, Row};

use super::rows::{self, REFUND_COLUMNS};
use super::sqlite_writer::SqliteWriter;
use super::writer::{WriteOp, WriterHandle};
use super::{
    AttemptRecord, AttemptRow, NewMerchant, NewNotification, NewRefund, NotificationRow, OrderRecord,
    OwedNotifications, PlaceOutcome, RefundOutcome, RefundRecord, SettleOutcome, Settlement, Store, StoreError,
    StoreFuture, WriterStats,
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
        let writer = SqliteWriter::open(&data_dir.join(DB_FILE))?;
        Ok(Self { pool, writer: WriterHandle::spawn_on_thread(writer, max_batch) })
    }
}

pub(super) const SELECT_ORDER_BY_OUT_TRADE_NO: &str = "SELECT eft_trade_no, user_confirm_key, out_trade_no, fingerprint, service, pay_type, wallet, \
     pay_scene, buyer_type, amount_minor, amount_text, currency, subject, body, tid, notify_url, return_url, lang, scheme, \
     package_name, app_link, active_time, request_time, created_at, expires_at, state, final_at, transaction_id, card_scheme, refunded_minor \
     FROM orders WHERE user_confirm_key = ?1 AND out_trade_no = ?2";

pub(super) const SELECT_ORDER_BY_EFT: &str = "SELECT eft_trade_no, user_confirm_key, out_trade_no, fingerprint, service, pay_type, wallet, \
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

    fn owed_notifications(&self) -> StoreFuture<'_, OwedNotifications> {
        Box::pin(async move {
            let row = sqlx::query(
                "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM notifications WHERE status = 'pending'",
            )
            .fetch_one(&self.pool)
            .await?;
            Ok(OwedNotifications { count: row.try_get("n")?, oldest_created_at: row.try_get("oldest")? })
        })
    }

    fn probe_write(&self, at: i64) -> StoreFuture<'_, ()> {
        Box::pin(self.writer.write(move |reply| WriteOp::Probe { at, reply }))
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
