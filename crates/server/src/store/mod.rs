//! Durable storage behind one trait (DESIGN.md "Storage").
//!
//! The embedded default is [`SqliteStore`]: WAL, `synchronous=FULL`, and a
//! single writer task that commits concurrent writes in batches (group
//! commit). A write's future resolves only after its batch is durably
//! committed, which is what lets the HTTP layer answer `00` safely.

mod sqlite;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};

pub use sqlite::SqliteStore;

use crate::merchant::{Merchant, MerchantStatus, MerchantSummary};

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
    /// Internal state (`PENDING` until the lifecycle moves it).
    pub state: String,
}

/// What [`Store::place_order`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaceOutcome {
    /// The order was inserted and committed.
    Created(OrderRecord),
    /// `(merchant, out_trade_no)` already existed; this is the stored order.
    Existing(OrderRecord),
}

/// Counters that show how the group-commit writer behaves.
#[derive(Debug, Default)]
pub struct WriterStats {
    commits: AtomicU64,
    writes: AtomicU64,
    largest_batch: AtomicU64,
}

impl WriterStats {
    pub(crate) fn record(&self, batch: usize) {
        let batch = batch as u64;
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.writes.fetch_add(batch, Ordering::Relaxed);
        self.largest_batch.fetch_max(batch, Ordering::Relaxed);
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
    fn set_merchant_status<'a>(
        &'a self,
        key: &'a str,
        status: MerchantStatus,
    ) -> StoreFuture<'a, bool>;
    /// Inserts an order unless `(merchant, out_trade_no)` exists; resolves
    /// after the durable commit.
    fn place_order(&self, order: OrderRecord) -> StoreFuture<'_, PlaceOutcome>;
    /// Looks up an order by merchant and `out_trade_no`.
    fn order_by_out_trade_no<'a>(
        &'a self,
        key: &'a str,
        out_trade_no: &'a str,
    ) -> StoreFuture<'a, Option<OrderRecord>>;
    /// Number of orders stored.
    fn count_orders(&self) -> StoreFuture<'_, i64>;
    /// A gateway-wide setting, created with `init` if absent (atomic across
    /// instances sharing the store).
    fn setting_or_init<'a>(&'a self, name: &'a str, init: String) -> StoreFuture<'a, String>;
    /// Group-commit counters.
    fn writer_stats(&self) -> &WriterStats;
    /// Finishes queued writes and closes connections.
    fn close(&self) -> StoreFuture<'_, ()>;
}
