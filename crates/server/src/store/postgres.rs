//! The PostgreSQL store, for several gateway instances on one database.
//!
//! Same trait, same group-commit writer as SQLite. What makes it safe across
//! instances is in the SQL: unique constraints decide `out_trade_no` and
//! `out_refund_no` races (`ON CONFLICT DO NOTHING`), a refund locks its
//! order row (`FOR UPDATE`) before checking the running total, a state
//! change only applies to a still-pending row, and notifications are claimed
//! with `FOR UPDATE SKIP LOCKED` plus a lease, so each attempt is sent by one
//! instance and a dead instance's leases run out for another to take over.

use secrecy::ExposeSecret;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::{AssertSqlSafe, ConnectOptions, Postgres, Row};

use super::rows::{self, NOTIFICATION_COLUMNS, ORDER_COLUMNS, REFUND_COLUMNS};
use super::writer::{Backend, Inserted, SqlxWriter, WriteOp, WriterHandle};
use super::{
    AttemptRecord, AttemptRow, NewMerchant, NewNotification, NewRefund, NotificationRow, OrderRecord,
    OwedNotifications, PlaceOutcome, RefundOutcome, RefundRecord, SettleOutcome, Settlement, Store, StoreError,
    StoreFuture, WriterStats,
};
use crate::merchant::{Merchant, MerchantStatus, MerchantSummary};

/// PostgreSQL store with a group-commit writer.
pub struct PgStore {
    pool: PgPool,
    writer: WriterHandle,
    node_id: u8,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("node_id", &self.node_id).finish_non_exhaustive()
    }
}

impl PgStore {
    /// Connects, runs migrations (safe when several instances start at
    /// once: the migrator holds an advisory lock) and starts the writer.
    ///
    /// # Errors
    /// When the database is unreachable or a migration fails.
    pub async fn open(options: PgConnectOptions, max_batch: usize) -> Result<Self, StoreError> {
        let options = options.disable_statement_logging();
        let pool = PgPoolOptions::new().max_connections(8).min_connections(1).connect_with(options.clone()).await?;
        sqlx::migrate!("./migrations/postgres").run(&pool).await?;
        let next: i64 = sqlx::query("SELECT nextval('gateway_node_ids') AS n").fetch_one(&pool).await?.try_get("n")?;
        let node_id = u8::try_from(next.rem_euclid(100)).unwrap_or(0);
        let conn = options.connect().await?;
        Ok(Self { pool, writer: WriterHandle::spawn(SqlxWriter::<PgBackend>(conn), max_batch), node_id })
    }

    /// The `eft_trade_no` node id this instance drew from the database
    /// sequence (distinct for up to 100 live instances).
    pub fn node_id(&self) -> u8 {
        self.node_id
    }
}

rows::store_row!(PgRow);

/// PostgreSQL text cannot hold NUL; a key containing one names nothing
/// (the gateway never stores one), so lookups answer "not found" instead of
/// a database error.
fn unstorable(parts: &[&str]) -> bool {
    parts.iter().any(|p| p.contains('\0'))
}

const ORDER_BY_EFT: &str = "SELECT {ORDER} FROM orders WHERE eft_trade_no = $1";
const ORDER_BY_OUT: &str = "SELECT {ORDER} FROM orders WHERE user_confirm_key = $1 AND out_trade_no = $2";

fn sql(template: &str) -> AssertSqlSafe<String> {
    AssertSqlSafe(
        template
            .replace("{ORDER}", ORDER_COLUMNS)
            .replace("{REFUND}", REFUND_COLUMNS)
            .replace("{NOTIFICATION}", NOTIFICATION_COLUMNS),
    )
}

/// The PostgreSQL SQL of the writer's operations.
pub(crate) struct PgBackend;

impl Backend for PgBackend {
    type Db = Postgres;

    async fn insert_order(c: &mut PgConnection, o: &OrderRecord) -> Result<Result<Inserted, StoreError>, sqlx::Error> {
        let done = sqlx::query(
            "INSERT INTO orders (eft_trade_no, user_confirm_key, out_trade_no, fingerprint, service, pay_type, wallet, pay_scene, \
             buyer_type, amount_minor, amount_text, currency, subject, body, tid, notify_url, return_url, lang, scheme, \
             package_name, app_link, active_time, request_time, created_at, expires_at, state) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, \
             $24, $25, $26) ON CONFLICT DO NOTHING",
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
        .execute(&mut *c)
        .await?;
        if done.rows_affected() == 1 {
            return Ok(Ok(Inserted::New));
        }
        let existing = sqlx::query(sql(ORDER_BY_OUT))
            .bind(o.user_confirm_key.clone())
            .bind(o.out_trade_no.clone())
            .fetch_optional(&mut *c)
            .await?;
        Ok(match existing {
            Some(row) => Ok(Inserted::Existing(Box::new(rows::order(&row)?))),
            None => Err(StoreError::IdCollision),
        })
    }

    async fn settle(c: &mut PgConnection, s: &Settlement) -> Result<SettleOutcome, sqlx::Error> {
        let moved = sqlx::query(
            "UPDATE orders SET state = $1, final_at = $2, transaction_id = $3, card_scheme = $4 \
             WHERE eft_trade_no = $5 AND state = 'PENDING'",
        )
        .bind(s.state.clone())
        .bind(s.at)
        .bind(s.transaction_id.clone())
        .bind(s.card_scheme.clone())
        .bind(s.eft_trade_no.clone())
        .execute(&mut *c)
        .await?;
        let Some(row) = sqlx::query(sql(ORDER_BY_EFT)).bind(s.eft_trade_no.clone()).fetch_optional(&mut *c).await?
        else {
            return Ok(SettleOutcome::NotFound);
        };
        let order = rows::order(&row)?;
        if moved.rows_affected() == 0 {
            return Ok(SettleOutcome::AlreadyFinal(order));
        }
        if let Some(n) = &s.notification {
            insert_notification(c, &order.eft_trade_no, &order.user_confirm_key, n, s.at).await?;
        }
        Ok(SettleOutcome::Applied(order))
    }

    async fn claim(
        c: &mut PgConnection,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<NotificationRow>, sqlx::Error> {
        let found =
            sqlx::query(sql("UPDATE notifications SET lease_until = $1 WHERE id IN (SELECT id FROM notifications \
             WHERE status = 'pending' AND next_attempt_at <= $2 AND (lease_until IS NULL OR lease_until <= $2) \
             ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED) RETURNING {NOTIFICATION}"))
            .bind(lease_until)
            .bind(now)
            .bind(limit)
            .fetch_all(&mut *c)
            .await?;
        found.iter().map(rows::notification).collect()
    }

    async fn record_attempt(c: &mut PgConnection, a: &AttemptRecord) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO notification_attempts (notification_id, attempt, attempted_at, http_status, latency_ms, outcome, excerpt) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(a.notification_id)
        .bind(a.attempt)
        .bind(a.attempted_at)
        .bind(a.http_status)
        .bind(a.latency_ms)
        .bind(a.outcome.clone())
        .bind(a.excerpt.clone())
        .execute(&mut *c)
        .await?;
        let (status, next, delivered_at) = super::next_notification_state(a);
        sqlx::query(
            "UPDATE notifications SET attempts = $1, status = $2, next_attempt_at = COALESCE($3, next_attempt_at), \
             delivered_at = $4, lease_until = NULL WHERE id = $5",
        )
        .bind(a.attempt)
        .bind(status)
        .bind(next)
        .bind(delivered_at)
        .bind(a.notification_id)
        .execute(&mut *c)
        .await?;
        Ok(())
    }

    async fn refund(c: &mut PgConnection, n: &NewRefund) -> Result<RefundOutcome, sqlx::Error> {
        // Lock the order row: refunds of one order, from any instance, run one at a time.
        let Some(row) = sqlx::query(sql("SELECT {ORDER} FROM orders WHERE eft_trade_no = $1 FOR UPDATE"))
            .bind(n.eft_trade_no.clone())
            .fetch_optional(&mut *c)
            .await?
        else {
            return Ok(RefundOutcome::NotFound);
        };
        let order = rows::order(&row)?;
        if let Some(existing) = existing_refund(c, n).await? {
            return Ok(existing);
        }
        let super::RefundPlan { total, trade_status, status, completed_at } = match super::plan_refund(&order, n) {
            Ok(plan) => plan,
            Err(refused) => return Ok(refused(order)),
        };
        let inserted = sqlx::query(sql(
            "INSERT INTO refunds (eft_trade_no, user_confirm_key, out_refund_no, fingerprint, service, amount_minor, amount_text, \
             reason, status, trade_status, notify_url, created_at, complete_after, completed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
             ON CONFLICT (user_confirm_key, out_refund_no) DO NOTHING RETURNING {REFUND}",
        ))
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
        .fetch_optional(&mut *c)
        .await?;
        let Some(inserted) = inserted else {
            // Another instance took this out_refund_no (for another order) meanwhile.
            return Ok(existing_refund(c, n).await?.unwrap_or(RefundOutcome::NotFound));
        };
        sqlx::query("UPDATE orders SET refunded_minor = $1, state = $2 WHERE eft_trade_no = $3")
            .bind(total)
            .bind(trade_status)
            .bind(n.eft_trade_no.clone())
            .execute(&mut *c)
            .await?;
        let mut updated = order;
        updated.refunded_minor = total;
        updated.state = trade_status.to_owned();
        Ok(RefundOutcome::Applied(rows::refund(&inserted)?, updated))
    }

    async fn complete_refund(
        c: &mut PgConnection,
        id: i64,
        at: i64,
        n: Option<&NewNotification>,
    ) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE refunds SET status = 'SUCCESS', completed_at = $1 WHERE id = $2 AND status = 'PROCESSING' \
             RETURNING eft_trade_no, user_confirm_key",
        )
        .bind(at)
        .bind(id)
        .fetch_optional(&mut *c)
        .await?;
        let Some(done) = done else { return Ok(false) };
        if let Some(n) = n {
            let (eft, key): (String, String) = (done.try_get("eft_trade_no")?, done.try_get("user_confirm_key")?);
            insert_notification(c, &eft, &key, n, at).await?;
        }
        Ok(true)
    }

    async fn probe(c: &mut PgConnection, at: i64) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO gateway_settings (name, value) VALUES ($1, $2) \
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(super::PROBE_SETTING)
        .bind(at.to_string())
        .execute(&mut *c)
        .await?;
        Ok(())
    }
}

async fn existing_refund(c: &mut PgConnection, n: &NewRefund) -> Result<Option<RefundOutcome>, sqlx::Error> {
    let Some(row) = sqlx::query(sql("SELECT {REFUND} FROM refunds WHERE user_confirm_key = $1 AND out_refund_no = $2"))
        .bind(n.user_confirm_key.clone())
        .bind(n.out_refund_no.clone())
        .fetch_optional(&mut *c)
        .await?
    else {
        return Ok(None);
    };
    let r = rows::refund(&row)?;
    let order = sqlx::query(sql(ORDER_BY_EFT)).bind(r.eft_trade_no.clone()).fetch_one(&mut *c).await?;
    Ok(Some(RefundOutcome::Existing(r, rows::order(&order)?)))
}

async fn insert_notification(
    c: &mut PgConnection,
    eft: &str,
    key: &str,
    n: &NewNotification,
    at: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO notifications (eft_trade_no, user_confirm_key, url, trade_status, payload, status, attempts, \
         next_attempt_at, created_at) VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $7)",
    )
    .bind(eft.to_owned())
    .bind(key.to_owned())
    .bind(n.url.clone())
    .bind(n.trade_status.clone())
    .bind(n.payload.clone())
    .bind(n.due_at)
    .bind(at)
    .execute(&mut *c)
    .await?;
    Ok(())
}

impl Store for PgStore {
    fn merchant<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Merchant>> {
        Box::pin(async move {
            if unstorable(&[key]) {
                return Ok(None);
            }
            let row =
                sqlx::query("SELECT user_confirm_key, name, secret, status, allowed_ports FROM merchants WHERE user_confirm_key = $1")
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
                "INSERT INTO merchants (user_confirm_key, name, secret, status, created_at, allowed_ports) VALUES ($1, $2, $3, $4, $5, $6) \
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
            let found =
                sqlx::query("SELECT user_confirm_key, name, status, created_at FROM merchants ORDER BY created_at, user_confirm_key")
                    .fetch_all(&self.pool)
                    .await?;
            found.iter().map(super::merchant_summary).collect()
        })
    }

    fn set_merchant_status<'a>(&'a self, key: &'a str, status: MerchantStatus) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            if unstorable(&[key]) {
                return Ok(false);
            }
            let done = sqlx::query("UPDATE merchants SET status = $1 WHERE user_confirm_key = $2")
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
            if unstorable(&[key, out_trade_no]) {
                return Ok(None);
            }
            let row = sqlx::query(sql(ORDER_BY_OUT))
                .bind(key.to_owned())
                .bind(out_trade_no.to_owned())
                .fetch_optional(&self.pool)
                .await?;
            Ok(row.as_ref().map(rows::order).transpose()?)
        })
    }

    fn order_by_eft_trade_no<'a>(&'a self, eft_trade_no: &'a str) -> StoreFuture<'a, Option<OrderRecord>> {
        Box::pin(async move {
            if unstorable(&[eft_trade_no]) {
                return Ok(None);
            }
            let row = sqlx::query(sql(ORDER_BY_EFT)).bind(eft_trade_no.to_owned()).fetch_optional(&self.pool).await?;
            Ok(row.as_ref().map(rows::order).transpose()?)
        })
    }

    fn settle(&self, settlement: Settlement) -> StoreFuture<'_, SettleOutcome> {
        Box::pin(self.writer.write(|reply| WriteOp::Settle(Box::new(settlement), reply)))
    }

    fn expired_pending(&self, now: i64, limit: i64) -> StoreFuture<'_, Vec<OrderRecord>> {
        Box::pin(async move {
            let found = sqlx::query(sql(
                "SELECT {ORDER} FROM orders WHERE state = 'PENDING' AND expires_at <= $1 ORDER BY expires_at LIMIT $2",
            ))
            .bind(now)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
            Ok(found.iter().map(rows::order).collect::<Result<_, _>>()?)
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
            if unstorable(&[eft_trade_no]) {
                return Ok(Vec::new());
            }
            let found =
                sqlx::query(sql("SELECT {NOTIFICATION} FROM notifications WHERE eft_trade_no = $1 ORDER BY id"))
                    .bind(eft_trade_no.to_owned())
                    .fetch_all(&self.pool)
                    .await?;
            Ok(found.iter().map(rows::notification).collect::<Result<_, _>>()?)
        })
    }

    fn attempts_for_notification(&self, id: i64) -> StoreFuture<'_, Vec<AttemptRow>> {
        Box::pin(async move {
            let found = sqlx::query(
                "SELECT attempt, attempted_at, http_status, latency_ms, outcome, excerpt FROM notification_attempts \
                 WHERE notification_id = $1 ORDER BY attempt",
            )
            .bind(id)
            .fetch_all(&self.pool)
            .await?;
            Ok(found.iter().map(rows::attempt).collect::<Result<_, _>>()?)
        })
    }

    fn count_orders(&self) -> StoreFuture<'_, i64> {
        Box::pin(async move {
            Ok(sqlx::query("SELECT COUNT(*) AS n FROM orders").fetch_one(&self.pool).await?.try_get("n")?)
        })
    }

    fn setting_or_init<'a>(&'a self, name: &'a str, init: String) -> StoreFuture<'a, String> {
        Box::pin(async move {
            sqlx::query("INSERT INTO gateway_settings (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(name.to_owned())
                .bind(init)
                .execute(&self.pool)
                .await?;
            Ok(sqlx::query("SELECT value FROM gateway_settings WHERE name = $1")
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
            if unstorable(&[key, out_refund_no]) {
                return Ok(None);
            }
            let row =
                sqlx::query(sql("SELECT {REFUND} FROM refunds WHERE user_confirm_key = $1 AND out_refund_no = $2"))
                    .bind(key.to_owned())
                    .bind(out_refund_no.to_owned())
                    .fetch_optional(&self.pool)
                    .await?;
            Ok(row.as_ref().map(rows::refund).transpose()?)
        })
    }

    fn due_refunds(&self, now: i64, limit: i64) -> StoreFuture<'_, Vec<RefundRecord>> {
        Box::pin(async move {
            let found = sqlx::query(sql(
                "SELECT {REFUND} FROM refunds WHERE status = 'PROCESSING' AND complete_after <= $1 ORDER BY complete_after LIMIT $2",
            ))
            .bind(now)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
            Ok(found.iter().map(rows::refund).collect::<Result<_, _>>()?)
        })
    }

    fn refunds_total<'a>(&'a self, eft_trade_no: &'a str) -> StoreFuture<'a, i64> {
        Box::pin(async move {
            if unstorable(&[eft_trade_no]) {
                return Ok(0);
            }
            let row = sqlx::query(
                "SELECT COALESCE(SUM(amount_minor), 0)::BIGINT AS total FROM refunds WHERE eft_trade_no = $1",
            )
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
