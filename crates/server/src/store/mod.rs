//! Durable storage behind one trait (docs/architecture.md "Store").
//!
//! The embedded default is [`SqliteStore`]: WAL, `synchronous=FULL`, and a
//! single writer task that commits concurrent writes in batches (group
//! commit). A write's future resolves only after its batch is durably
//! committed, which is what lets the HTTP layer answer `00` safely.

mod postgres;
mod rows;
mod sqlite;
mod sqlite_writer;
mod writer;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

use crate::merchant::{Merchant, MerchantStatus, MerchantSummary};

/// Opens the configured store: PostgreSQL when `database_url` is given,
/// otherwise SQLite in `data_dir`. Also returns the `eft_trade_no` node id
/// the store suggests (1 on SQLite; drawn from a sequence on PostgreSQL).
///
/// # Errors
/// When the store cannot be opened; the message never contains the URL.
pub async fn open(
    data_dir: &std::path::Path,
    database_url: Option<&str>,
    max_batch: usize,
) -> anyhow::Result<(std::sync::Arc<dyn Store>, u8)> {
    use anyhow::Context;
    match database_url {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            let options: sqlx::postgres::PgConnectOptions = url.parse().context("parsing the PostgreSQL URL")?;
            let store = PgStore::open(options, max_batch).await.context("opening the PostgreSQL store")?;
            let node = store.node_id();
            Ok((std::sync::Arc::new(store), node))
        }
        Some(_) => anyhow::bail!("the database URL must start with postgres:// or postgresql://"),
        None => {
            let store = SqliteStore::open(data_dir, max_batch)
                .await
                .with_context(|| format!("opening the store in {}", data_dir.display()))?;
            Ok((std::sync::Arc::new(store), 1))
        }
    }
}

/// A boxed store future (the trait is used as `Arc<dyn Store>`).
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Storage failures.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database reported an error.
    #[error("database error")]
    Database(#[from] sqlx::Error),
    /// Running migrations failed.
    #[error("migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A merchant with this key already exists.
    #[error("merchant {0} already exists")]
    DuplicateMerchant(String),
    /// An `eft_trade_no` collided (should never happen; see `ids`).
    #[error("eft_trade_no collision")]
    IdCollision,
    /// SQLite reported an error on the writer thread.
    #[error("database error")]
    Sqlite(#[from] rusqlite::Error),
    /// The writer task is gone (the store is shutting down).
    #[error("store writer stopped")]
    WriterStopped,
    /// A stored value could not be read back.
    #[error("corrupt row: {0}")]
    Corrupt(&'static str),
    /// File-system trouble creating the data directory.
    #[error("data directory: {0}")]
    Io(#[from] std::io::Error),
}

/// A new merchant to store.
#[derive(Debug, Clone)]
pub struct NewMerchant {
    /// The merchant, with its secret.
    pub merchant: Merchant,
    /// Creation time, unix seconds.
    pub created_at: i64,
}

/// An order as stored. Also what [`Store::place_order`] inserts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRecord {
    /// Gateway order number.
    pub eft_trade_no: String,
    /// Merchant key.
    pub user_confirm_key: String,
    /// Merchant order number.
    pub out_trade_no: String,
    /// Idempotency fingerprint of the request.
    pub fingerprint: String,
    /// `service`.
    pub service: String,
    /// `payType`.
    pub pay_type: String,
    /// `wallet`.
    pub wallet: String,
    /// `pay_scene`.
    pub pay_scene: String,
    /// `buyerType`.
    pub buyer_type: String,
    /// Amount in minor units.
    pub amount_minor: i64,
    /// Amount text as sent.
    pub amount_text: String,
    /// Currency code.
    pub currency: String,
    /// `subject`.
    pub subject: String,
    /// `body`.
    pub body: Option<String>,
    /// `tid`.
    pub tid: Option<String>,
    /// `notify_url`.
    pub notify_url: Option<String>,
    /// `return_url`.
    pub return_url: Option<String>,
    /// `lang`.
    pub lang: Option<String>,
    /// `scheme`.
    pub scheme: Option<String>,
    /// `packageName`.
    pub package_name: Option<String>,
    /// `app_link`.
    pub app_link: Option<String>,
    /// `active_time`, seconds.
    pub active_time: i64,
    /// The request's `time`.
    pub request_time: String,
    /// Gateway time of creation, unix seconds.
    pub created_at: i64,
    /// When the unpaid order expires, unix seconds.
    pub expires_at: i64,
    /// `PENDING`, or the final `trade_status` (`TRADE_SUCCESS`,
    /// `TRADE_FAIL`, `TRADE_CLOSED`).
    pub state: String,
    /// When the order reached its final state, unix seconds.
    pub final_at: Option<i64>,
    /// The wallet side's transaction number (sandbox-generated).
    pub transaction_id: Option<String>,
    /// Card scheme for card payments (MPGS, AE).
    pub card_scheme: Option<String>,
    /// Sum of refunds (completed and in progress), minor units.
    pub refunded_minor: i64,
}

/// What [`Store::place_order`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaceOutcome {
    /// The order was inserted and committed.
    Created(OrderRecord),
    /// `(merchant, out_trade_no)` already existed; this is the stored order.
    Existing(OrderRecord),
}

/// A state change for one pending order, with the notification it owes.
#[derive(Debug, Clone)]
pub struct Settlement {
    /// The order.
    pub eft_trade_no: String,
    /// The final state to move to.
    pub state: String,
    /// When, unix seconds.
    pub at: i64,
    /// The wallet side's transaction number.
    pub transaction_id: String,
    /// Card scheme, for card payments.
    pub card_scheme: Option<String>,
    /// The outbox row to write in the same transaction, if a notification is owed.
    pub notification: Option<NewNotification>,
}

/// What [`Store::settle`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettleOutcome {
    /// The order moved to the new state (and the notification, if any, was queued).
    Applied(OrderRecord),
    /// The order was already final; nothing changed. Carries the stored order.
    AlreadyFinal(OrderRecord),
    /// No such order.
    NotFound,
}

/// A notification to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotification {
    /// Target URL (`notify_url`).
    pub url: String,
    /// The `trade_status` it reports.
    pub trade_status: String,
    /// Unsigned message JSON, without `time` (stamped per attempt).
    pub payload: String,
    /// First attempt due at, unix seconds.
    pub due_at: i64,
}

/// A queued notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRow {
    /// Outbox id.
    pub id: i64,
    /// The order it reports on.
    pub eft_trade_no: String,
    /// The merchant.
    pub user_confirm_key: String,
    /// Target URL.
    pub url: String,
    /// Reported `trade_status`.
    pub trade_status: String,
    /// Unsigned message JSON without `time`.
    pub payload: String,
    /// `pending`, `delivered` or `failed` (gave up).
    pub status: String,
    /// Attempts made so far.
    pub attempts: i64,
    /// Next attempt due at, unix seconds.
    pub next_attempt_at: i64,
    /// When delivered, unix seconds.
    pub delivered_at: Option<i64>,
}

/// The result of one delivery attempt, and what to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    /// Outbox id.
    pub notification_id: i64,
    /// Attempt number (1-based).
    pub attempt: i64,
    /// When it started, unix seconds.
    pub attempted_at: i64,
    /// HTTP status, if an answer came.
    pub http_status: Option<i64>,
    /// How long it took.
    pub latency_ms: i64,
    /// `delivered`, `rejected` (answer was not a success ack) or `error` (no answer).
    pub outcome: String,
    /// First bytes of the answer, or the error.
    pub excerpt: String,
    /// `Some(t)`: retry at `t`; `None`: final (delivered, or given up).
    pub retry_at: Option<i64>,
}

/// A recorded attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRow {
    /// Attempt number.
    pub attempt: i64,
    /// When, unix seconds.
    pub attempted_at: i64,
    /// HTTP status, if any.
    pub http_status: Option<i64>,
    /// Duration.
    pub latency_ms: i64,
    /// `delivered`, `rejected` or `error`.
    pub outcome: String,
    /// Answer excerpt or error.
    pub excerpt: String,
}

/// A refund to apply to an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRefund {
    /// The order.
    pub eft_trade_no: String,
    /// The merchant.
    pub user_confirm_key: String,
    /// The merchant's refund number.
    pub out_refund_no: String,
    /// Idempotency fingerprint of the request.
    pub fingerprint: String,
    /// Refund service.
    pub service: String,
    /// Amount, minor units.
    pub amount_minor: i64,
    /// Amount as sent.
    pub amount_text: String,
    /// Reason, if sent.
    pub reason: Option<String>,
    /// Apply-refund: stored `PROCESSING`, completed at `complete_after`.
    pub complete_after: Option<i64>,
    /// Where to notify an apply-refund's completion.
    pub notify_url: Option<String>,
    /// Now, unix seconds.
    pub at: i64,
}

/// A stored refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRecord {
    /// Row id.
    pub id: i64,
    /// The order.
    pub eft_trade_no: String,
    /// The merchant.
    pub user_confirm_key: String,
    /// The merchant's refund number.
    pub out_refund_no: String,
    /// Idempotency fingerprint.
    pub fingerprint: String,
    /// Refund service.
    pub service: String,
    /// Amount, minor units.
    pub amount_minor: i64,
    /// Amount as sent.
    pub amount_text: String,
    /// Reason.
    pub reason: Option<String>,
    /// `SUCCESS`, `PROCESSING` or `FAIL`.
    pub status: String,
    /// `TRADE_REFUND` or `TRADE_CLOSED`.
    pub trade_status: String,
    /// Completion notification target.
    pub notify_url: Option<String>,
    /// Created, unix seconds.
    pub created_at: i64,
    /// When an apply-refund completes.
    pub complete_after: Option<i64>,
    /// Completed, unix seconds.
    pub completed_at: Option<i64>,
}

/// What [`Store::refund`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundOutcome {
    /// Stored; the order as updated.
    Applied(RefundRecord, OrderRecord),
    /// This `out_refund_no` exists already; the stored refund and order.
    Existing(RefundRecord, OrderRecord),
    /// The order is not paid (pending or failed).
    NotPaid(OrderRecord),
    /// The order is closed (fully refunded, or closed unpaid).
    Closed(OrderRecord),
    /// The refund would take the total past the order amount.
    Exceeds(OrderRecord),
    /// No such order.
    NotFound,
}

/// Outbox row state after an attempt: (status, next attempt, delivered at).
pub(crate) fn next_notification_state(a: &AttemptRecord) -> (&'static str, Option<i64>, Option<i64>) {
    match (a.outcome.as_str(), a.retry_at) {
        ("delivered", _) => ("delivered", None, Some(a.attempted_at)),
        (_, Some(t)) => ("pending", Some(t), None),
        (_, None) => ("failed", None, None),
    }
}

/// What storing a new refund does to its order, once the order is known to
/// allow it.
pub(crate) struct RefundPlan {
    /// The order's refunded total after this refund, minor units.
    pub total: i64,
    /// The order's new state (`TRADE_CLOSED` once fully refunded).
    pub trade_status: &'static str,
    /// The refund's status (`PROCESSING` for an apply-refund).
    pub status: &'static str,
    /// When the refund completed, if it completes at once.
    pub completed_at: Option<i64>,
}

/// The refund rule, the same for every backend: only a paid order (fully
/// or partly refunded) can be refunded, and never past its amount.
///
/// # Errors
/// The refusal, carrying the order.
pub(crate) fn plan_refund(order: &OrderRecord, n: &NewRefund) -> Result<RefundPlan, fn(OrderRecord) -> RefundOutcome> {
    match order.state.as_str() {
        "TRADE_SUCCESS" | "TRADE_REFUND" => {}
        "TRADE_CLOSED" => return Err(RefundOutcome::Closed),
        _ => return Err(RefundOutcome::NotPaid),
    }
    let total = order.refunded_minor + n.amount_minor;
    if total > order.amount_minor {
        return Err(RefundOutcome::Exceeds);
    }
    let trade_status = if total == order.amount_minor { "TRADE_CLOSED" } else { "TRADE_REFUND" };
    let (status, completed_at) = match n.complete_after {
        Some(_) => ("PROCESSING", None),
        None => ("SUCCESS", Some(n.at)),
    };
    Ok(RefundPlan { total, trade_status, status, completed_at })
}

/// A merchant list row.
pub(crate) fn merchant_summary<R: rows::StoreRow + ?Sized>(r: &R) -> Result<MerchantSummary, StoreError>
where
    StoreError: From<R::Error>,
{
    let status = r.text("status")?;
    Ok(MerchantSummary {
        key: r.text("user_confirm_key")?,
        name: r.text("name")?,
        status: MerchantStatus::parse(&status).ok_or(StoreError::Corrupt("merchants.status"))?,
        created_at: r.int("created_at")?,
    })
}

/// What [`Store::owed_notifications`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OwedNotifications {
    /// Notifications not yet delivered nor given up.
    pub count: i64,
    /// When the oldest of them was queued, unix seconds (`None`: none owed).
    pub oldest_created_at: Option<i64>,
}

/// The `gateway_settings` row the readiness probe rewrites.
pub(crate) const PROBE_SETTING: &str = "readiness_probe";

/// Counters that show how the group-commit writer behaves.
#[derive(Debug, Default)]
pub struct WriterStats {
    commits: AtomicU64,
    writes: AtomicU64,
    largest_batch: AtomicU64,
    order_commits: AtomicU64,
    order_writes: AtomicU64,
}

impl WriterStats {
    pub(crate) fn record(&self, batch: usize, orders: usize) {
        let (batch, orders) = (batch as u64, orders as u64);
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.writes.fetch_add(batch, Ordering::Relaxed);
        self.largest_batch.fetch_max(batch, Ordering::Relaxed);
        if orders > 0 {
            self.order_commits.fetch_add(1, Ordering::Relaxed);
            self.order_writes.fetch_add(orders, Ordering::Relaxed);
        }
    }

    /// Transactions that committed at least one new order.
    pub fn order_commits(&self) -> u64 {
        self.order_commits.load(Ordering::Relaxed)
    }

    /// Place-order writes committed.
    pub fn order_writes(&self) -> u64 {
        self.order_writes.load(Ordering::Relaxed)
    }

    /// Transactions committed.
    pub fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Writes committed (sum of batch sizes).
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    /// Largest batch so far.
    pub fn largest_batch(&self) -> u64 {
        self.largest_batch.load(Ordering::Relaxed)
    }
}

/// The gateway's storage.
pub trait Store: Send + Sync + 'static {
    /// Looks up a merchant by `user_confirm_key`.
    fn merchant<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Merchant>>;
    /// Adds a merchant. [`StoreError::DuplicateMerchant`] if the key exists.
    fn add_merchant(&self, new: NewMerchant) -> StoreFuture<'_, ()>;
    /// All merchants, oldest first, without secrets.
    fn list_merchants(&self) -> StoreFuture<'_, Vec<MerchantSummary>>;
    /// Sets a merchant's status; `false` if there is no such merchant.
    fn set_merchant_status<'a>(&'a self, key: &'a str, status: MerchantStatus) -> StoreFuture<'a, bool>;
    /// Inserts an order unless `(merchant, out_trade_no)` exists; resolves
    /// after the durable commit.
    fn place_order(&self, order: OrderRecord) -> StoreFuture<'_, PlaceOutcome>;
    /// Looks up an order by merchant and `out_trade_no`.
    fn order_by_out_trade_no<'a>(&'a self, key: &'a str, out_trade_no: &'a str)
    -> StoreFuture<'a, Option<OrderRecord>>;
    /// Number of orders stored.
    fn count_orders(&self) -> StoreFuture<'_, i64>;
    /// A gateway-wide setting, created with `init` if absent (atomic across
    /// instances sharing the store).
    fn setting_or_init<'a>(&'a self, name: &'a str, init: String) -> StoreFuture<'a, String>;
    /// Looks up an order by `eft_trade_no`.
    fn order_by_eft_trade_no<'a>(&'a self, eft_trade_no: &'a str) -> StoreFuture<'a, Option<OrderRecord>>;
    /// Moves a pending order to a final state and queues its notification,
    /// atomically; a no-op if the order is already final.
    fn settle(&self, settlement: Settlement) -> StoreFuture<'_, SettleOutcome>;
    /// Pending orders whose `expires_at` is at or before `now`.
    fn expired_pending(&self, now: i64, limit: i64) -> StoreFuture<'_, Vec<OrderRecord>>;
    /// Leases up to `limit` due notifications until `lease_until`.
    fn claim_notifications(&self, now: i64, lease_until: i64, limit: i64) -> StoreFuture<'_, Vec<NotificationRow>>;
    /// Records an attempt and reschedules, completes or gives up the notification.
    fn record_attempt(&self, attempt: AttemptRecord) -> StoreFuture<'_, ()>;
    /// Notifications of one order, oldest first.
    fn notifications_for_order<'a>(&'a self, eft_trade_no: &'a str) -> StoreFuture<'a, Vec<NotificationRow>>;
    /// Attempts of one notification, in order.
    fn attempts_for_notification(&self, id: i64) -> StoreFuture<'_, Vec<AttemptRow>>;
    /// Applies a refund atomically: uniqueness of `out_refund_no`, the order
    /// state, and the running total are all checked in the writer's transaction.
    fn refund(&self, refund: NewRefund) -> StoreFuture<'_, RefundOutcome>;
    /// Completes an in-progress apply-refund and queues its notification.
    /// `false` if it was not in progress.
    fn complete_refund(&self, id: i64, at: i64, notification: Option<NewNotification>) -> StoreFuture<'_, bool>;
    /// A refund by merchant and `out_refund_no`.
    fn refund_by_out_refund_no<'a>(
        &'a self,
        key: &'a str,
        out_refund_no: &'a str,
    ) -> StoreFuture<'a, Option<RefundRecord>>;
    /// Apply-refunds due for completion.
    fn due_refunds(&self, now: i64, limit: i64) -> StoreFuture<'_, Vec<RefundRecord>>;
    /// Sum of refund amounts of an order (from the refunds table).
    fn refunds_total<'a>(&'a self, eft_trade_no: &'a str) -> StoreFuture<'a, i64>;
    /// Notifications still owed (pending) and when the oldest was queued.
    /// For the metrics gauge: one aggregate read, no lock taken.
    fn owed_notifications(&self) -> StoreFuture<'_, OwedNotifications>;
    /// Writes a trivial row through the group-commit writer (the readiness
    /// probe): resolves after its commit, so `Ok` means the store is
    /// writable and the writer alive.
    fn probe_write(&self, at: i64) -> StoreFuture<'_, ()>;
    /// Group-commit counters.
    fn writer_stats(&self) -> &WriterStats;
    /// Finishes queued writes and closes connections.
    fn close(&self) -> StoreFuture<'_, ()>;
}
