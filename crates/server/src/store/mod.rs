//! Durable storage behind one trait (DESIGN.md "Storage").
//!
//! The embedded default is [`SqliteStore`]: WAL, `synchronous=FULL`, and a
//! single writer task that commits concurrent writes in batches (group
//! commit). A write's future resolves only after its batch is durably
//! committed, which is what lets the HTTP layer answer `00` safely.
//! [`PgStore`] is the same type on PostgreSQL, for several instances.
//!
//! # Layout
//! Written once for both backends:
//! - `sql` — every statement's text (`?n` parameters; PostgreSQL's `$n`
//!   derived once), one text per dialect only where row locks differ.
//! - `rows` — rows ↔ domain types ([`crate::domain`]), the one place.
//! - `ops` — every operation's logic over the `db` primitives.
//! - `writer` — the group-commit loop and what a batch runs.
//! - [`SqlStore`] — the [`Store`] implementation.
//! - `console` — [`ConsoleStore`], what the developer console reads and writes.
//!
//! Per backend: `db` (the statement primitives of rusqlite's and sqlx's
//! connections), `sqlite` and `postgres` (opening), `sqlite_writer` and
//! `postgres::PgWriter` (how a batch's transaction begins and ends).

/// One operation on a pooled connection (reads, merchant administration).
macro_rules! pooled {
    ($self:ident, |$c:ident| $body:expr) => {
        Box::pin(async move {
            $self.health.check()?;
            let mut conn = $self.pool.acquire().await?;
            let $c = &mut *conn;
            $body.await
        })
    };
}

mod console;
mod db;
mod ops;
mod postgres;
mod rows;
mod sealed;
mod sql;
mod sqlite;
mod sqlite_writer;
mod writer;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};

pub use console::{
    ConsoleStore, ListedNotification, LoggedRequest, NotificationQuery, OrderScan, RequestScan, Scanned, StoredEvent,
};
pub use postgres::{PgStore, WRITER_APPLICATION_NAME};
pub use sqlite::{DB_FILE, STORE_MARKER, SqliteStore};

pub use crate::domain::{
    Attempt, AttemptRecord, NewCancel, NewNotification, NewRefund, Notification, Order, Refund, RefundCompletion,
    Transition, WalletChoice,
};
use crate::faults::StoredFault;
use crate::merchant::{Merchant, MerchantStatus, MerchantSummary};
use crate::vault::{KeySource, VaultError};

pub use sealed::SEALED_SETTINGS;
use vmp_protocol::faults::FaultRule;

/// Opens the configured store: PostgreSQL when `database_url` is given,
/// otherwise SQLite in `data_dir`. Also returns the `eft_trade_no` node id
/// the store suggests (1 on SQLite; drawn from a sequence on PostgreSQL).
/// Without a master key: a store whose secrets are encrypted is refused.
///
/// A data directory that held a SQLite store whose database is now missing
/// is refused ([`StoreError::Missing`]); [`open_with`] with `init` creates
/// an empty store there instead.
///
/// # Errors
/// When the store cannot be opened; the message never contains the URL.
pub async fn open(
    data_dir: &std::path::Path,
    database_url: Option<&str>,
    max_batch: usize,
) -> anyhow::Result<(std::sync::Arc<dyn Store>, u8)> {
    open_with(data_dir, database_url, max_batch, KeySource::None, false).await
}

/// [`open`] with the master `keys` ([`Store::unlock`]: checks them against
/// the store, encrypts a store's first secrets, refuses a wrong key); with
/// `init` it also creates an empty SQLite store in a data directory whose
/// store was lost (`vmp serve --init`). `init` does nothing on PostgreSQL.
///
/// # Errors
/// As [`open`]; a key that does not match the store, or none for an
/// encrypted store (one line each, without key material).
pub async fn open_with(
    data_dir: &std::path::Path,
    database_url: Option<&str>,
    max_batch: usize,
    keys: KeySource,
    init: bool,
) -> anyhow::Result<(std::sync::Arc<dyn Store>, u8)> {
    use anyhow::Context;
    let (store, node): (std::sync::Arc<dyn Store>, u8) = match database_url {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            let options: sqlx::postgres::PgConnectOptions = url.parse().context("parsing the PostgreSQL URL")?;
            let store = PgStore::open(options, max_batch).await.context("opening the PostgreSQL store")?;
            let node = store.node_id();
            (std::sync::Arc::new(store), node)
        }
        Some(_) => anyhow::bail!("the database URL must start with postgres:// or postgresql://"),
        None => {
            let store = SqliteStore::open_with(data_dir, max_batch, init)
                .await
                .with_context(|| format!("opening the store in {}", data_dir.display()))?;
            (std::sync::Arc::new(store), 1)
        }
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    if let Err(e) = store.unlock(keys, now).await {
        store.close().await?;
        return Err(e.into());
    }
    Ok((store, node))
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
    /// A secret could not be sealed or opened, or the master keys do not
    /// fit the store.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// `vmp admin rotate-master-key` found nothing to rotate to, or
    /// another rotation is under way.
    #[error("{0}")]
    Rotation(&'static str),
    /// The database cannot be reached: the writer has no connection (it
    /// reconnects with a capped backoff), or lost it during this write,
    /// whose outcome is then unknown (a retry is safe: see
    /// docs/architecture.md, "Losing the database"). The writer logs the
    /// loss once; nothing is answered `00` meanwhile.
    #[error("database unavailable; reconnecting")]
    Unavailable,
    /// The SQLite database file was removed or replaced while the gateway
    /// ran: what it committed there would be gone at the next start. Every
    /// operation fails from then on; the writer logs it once.
    #[error("the database file was removed or replaced while the gateway ran; refusing every operation")]
    StoreLost,
    /// The data directory held a store (its marker file is there) but the
    /// database is missing: refused rather than silently starting empty.
    #[error(
        "{} is missing, but this data directory held a store ({STORE_MARKER} is there): restore the database from a \
         backup, or run `vmp serve --init` to start with an empty store",
        .0.display()
    )]
    Missing(std::path::PathBuf),
}

impl StoreError {
    /// Whether the store as a whole is down (unreachable or lost) rather
    /// than this one operation failing. The store has logged the cause
    /// once; callers log such errors quietly, not once per request.
    pub fn is_outage(&self) -> bool {
        matches!(self, Self::Unavailable | Self::StoreLost)
    }
}

/// A new merchant to store.
#[derive(Debug, Clone)]
pub struct NewMerchant {
    /// The merchant, with its secret.
    pub merchant: Merchant,
    /// Creation time, unix seconds.
    pub created_at: i64,
}

/// What [`Store::promote_secret`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromoteOutcome {
    /// The new secret now signs what the gateway sends.
    Promoted,
    /// No unpromoted rotation is running for this merchant.
    NoRotation,
    /// No such merchant.
    NotFound,
}

/// What [`Store::unlock`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unlocked {
    /// The master key version new secrets are sealed under (0: clear).
    pub version: i64,
    /// Secrets found in clear and encrypted by this call.
    pub encrypted: u64,
}

/// What [`Store::rotate_master_key`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rekeyed {
    /// The version every secret is now sealed under.
    pub version: i64,
    /// Values re-encrypted.
    pub resealed: u64,
    /// Older versions retired by this call.
    pub retired: u64,
}

/// What [`Store::place_order`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlaceOutcome {
    /// The order was inserted and committed.
    Created(Order),
    /// `(merchant, out_trade_no)` already existed; this is the stored order.
    Existing(Order),
}

/// What [`Store::settle`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SettleOutcome {
    /// The order moved to the new state (and the notification, if any, was queued).
    Applied(Order),
    /// The order was already final; nothing changed. Carries the stored order.
    AlreadyFinal(Order),
    /// No such order.
    NotFound,
}

/// What [`Store::refund`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefundOutcome {
    /// Stored; the order as updated.
    Applied(Refund, Order),
    /// This `out_refund_no` exists already; the stored refund and order.
    Existing(Refund, Order),
    /// The order is not paid (pending or failed).
    NotPaid(Order),
    /// The order is closed (fully refunded, or closed unpaid).
    Closed(Order),
    /// The refund would take the total past the order amount.
    Exceeds(Order),
    /// No such order.
    NotFound,
}

/// What [`Store::choose_wallet`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChoiceOutcome {
    /// The wallet was recorded; the order as updated.
    Chosen(Order),
    /// The order was final or had a wallet already; nothing changed.
    Unchanged(Order),
    /// No such order.
    NotFound,
}

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

/// The gateway's storage (with the console's operations, [`ConsoleStore`]).
pub trait Store: ConsoleStore + Send + Sync + 'static {
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
    fn place_order(&self, order: Order) -> StoreFuture<'_, PlaceOutcome>;
    /// Looks up an order by merchant and `out_trade_no`.
    fn order_by_out_trade_no<'a>(&'a self, key: &'a str, out_trade_no: &'a str) -> StoreFuture<'a, Option<Order>>;
    /// Number of orders stored.
    fn count_orders(&self) -> StoreFuture<'_, i64>;
    /// A gateway-wide setting, created with `init` if absent (atomic across
    /// instances sharing the store).
    fn setting_or_init<'a>(&'a self, name: &'a str, init: String) -> StoreFuture<'a, String>;
    /// Looks up an order by `eft_trade_no`.
    fn order_by_eft_trade_no<'a>(&'a self, eft_trade_no: &'a str) -> StoreFuture<'a, Option<Order>>;
    /// Applies a transition ([`Order::settle`], [`Order::expire`],
    /// [`Order::close`]) and queues the notification it owes, atomically;
    /// a no-op if the order is already final.
    fn settle(&self, transition: Transition) -> StoreFuture<'_, SettleOutcome>;
    /// Pending orders whose `expires_at` is at or before `now`.
    fn expired_pending(&self, now: i64, limit: i64) -> StoreFuture<'_, Vec<Order>>;
    /// Leases up to `limit` due notifications until `lease_until`.
    fn claim_notifications(&self, now: i64, lease_until: i64, limit: i64) -> StoreFuture<'_, Vec<Notification>>;
    /// Records an attempt and reschedules, completes or gives up the notification.
    fn record_attempt(&self, attempt: AttemptRecord) -> StoreFuture<'_, ()>;
    /// Notifications of one order, oldest first.
    fn notifications_for_order<'a>(&'a self, eft_trade_no: &'a str) -> StoreFuture<'a, Vec<Notification>>;
    /// Attempts of one notification, in order.
    fn attempts_for_notification(&self, id: i64) -> StoreFuture<'_, Vec<Attempt>>;
    /// Applies a refund atomically: uniqueness of `out_refund_no`, the order
    /// state, and the running total ([`Order::plan_refund`]) are all checked
    /// in the writer's transaction.
    fn refund(&self, refund: NewRefund) -> StoreFuture<'_, RefundOutcome>;
    /// Completes an in-progress apply-refund ([`Refund::complete`]) and
    /// queues its notification. `false` if it was not in progress.
    fn complete_refund(&self, completion: RefundCompletion) -> StoreFuture<'_, bool>;
    /// Cancels a paid qrcode order atomically: the refund of all that is
    /// left ([`Order::cancel_amount`]), which closes it.
    fn cancel(&self, cancel: NewCancel) -> StoreFuture<'_, RefundOutcome>;
    /// Records the wallet a cashier order's buyer chose, only while the
    /// order is pending and has none.
    fn choose_wallet(&self, choice: WalletChoice) -> StoreFuture<'_, ChoiceOutcome>;
    /// A refund by merchant and `out_refund_no`.
    fn refund_by_out_refund_no<'a>(&'a self, key: &'a str, out_refund_no: &'a str) -> StoreFuture<'a, Option<Refund>>;
    /// Apply-refunds due for completion.
    fn due_refunds(&self, now: i64, limit: i64) -> StoreFuture<'_, Vec<Refund>>;
    /// Sum of refund amounts of an order (from the refunds table).
    fn refunds_total<'a>(&'a self, eft_trade_no: &'a str) -> StoreFuture<'a, i64>;
    /// Notifications still owed (pending) and when the oldest was queued.
    /// For the metrics gauge: one aggregate read, no lock taken.
    fn owed_notifications(&self) -> StoreFuture<'_, OwedNotifications>;
    /// Writes a trivial row through the group-commit writer (the readiness
    /// probe): resolves after its commit, so `Ok` means the store is
    /// writable and the writer alive.
    fn probe_write(&self, at: i64) -> StoreFuture<'_, ()>;
    /// Gives merchant `key` the new `secret` (sealed like every secret).
    /// With `previous_until`, the old secret stays as the previous one until
    /// then ([`crate::merchant::rotate_secret`] says how); without, it is
    /// dropped. `false`: no such merchant.
    fn replace_secret<'a>(
        &'a self,
        key: &'a str,
        secret: &'a secrecy::SecretString,
        previous_until: Option<i64>,
        now: i64,
    ) -> StoreFuture<'a, bool>;
    /// Stops the previous secret from signing what the gateway sends.
    fn promote_secret<'a>(&'a self, key: &'a str, now: i64) -> StoreFuture<'a, PromoteOutcome>;
    /// A secret gateway-wide setting (one of [`SEALED_SETTINGS`], sealed
    /// like merchant secrets), created with `init` if absent (atomic across
    /// instances sharing the store).
    fn secret_setting_or_init<'a>(
        &'a self,
        name: &'a str,
        init: secrecy::SecretString,
    ) -> StoreFuture<'a, secrecy::SecretString>;
    /// Takes this instance's master keys: registers the first key of a store
    /// not yet encrypted, refuses keys that do not match an encrypted store
    /// (and no key for one), and encrypts every secret still in clear.
    fn unlock(&self, keys: KeySource, now: i64) -> StoreFuture<'_, Unlocked>;
    /// Re-encrypts every secret under the one key of this instance's ring
    /// the store does not know yet (registered as the next version), online,
    /// then retires the older versions. Run again, it finishes an
    /// interrupted rotation.
    fn rotate_master_key(&self, now: i64) -> StoreFuture<'_, Rekeyed>;
    /// Group-commit counters.
    fn writer_stats(&self) -> &WriterStats;
    /// Finishes queued writes and closes connections.
    fn close(&self) -> StoreFuture<'_, ()>;

    // Sandbox faults (crate::faults) and sandbox merchants: administration
    // writes on the pool, like merchants', never on the request path.

    /// Creates a merchant with this key and secret, or gives the existing
    /// one this secret and makes it active (`vmp serve --sandbox-merchant`).
    fn ensure_merchant(&self, new: NewMerchant) -> StoreFuture<'_, EnsuredMerchant>;
    /// Stores a fault rule for a merchant.
    fn add_fault<'a>(&'a self, key: &'a str, rule: &'a FaultRule, at: i64) -> StoreFuture<'a, StoredFault>;
    /// One merchant's fault rules (or every merchant's), oldest first.
    fn faults<'a>(&'a self, key: Option<&'a str>) -> StoreFuture<'a, Vec<StoredFault>>;
    /// Deletes a merchant's fault rules (or one of them); how many.
    fn clear_faults<'a>(&'a self, key: &'a str, id: Option<i64>) -> StoreFuture<'a, u64>;
    /// Takes one firing of a counted rule: the count left, `None` when it
    /// was used up already (on any instance).
    fn consume_fault(&self, id: i64) -> StoreFuture<'_, Option<i64>>;
    /// Moves a pending notification's next attempt to `until` and lets go
    /// of its lease, without counting an attempt.
    fn postpone_notification(&self, id: i64, until: i64) -> StoreFuture<'_, ()>;
}

/// What [`Store::ensure_merchant`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnsuredMerchant {
    /// There was no such merchant; it was created.
    Created,
    /// It existed with another secret, or disabled; now it has this secret and is active.
    Updated,
    /// It existed with this secret, active.
    Unchanged,
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

/// A store on a sqlx database: reads and merchant administration on a
/// pool, every other write through the group-commit writer. Both backends
/// are this one type ([`SqliteStore`], [`PgStore`]); they differ in how
/// they open and in their writer's connection.
pub struct SqlStore<DB: sqlx::Database> {
    pool: sqlx::Pool<DB>,
    writer: writer::WriterHandle,
    node_id: u8,
    /// This instance's master keys (none until [`Store::unlock`]).
    vault: sealed::VaultCell,
    /// What the writer found out about the database, for the reads.
    health: std::sync::Arc<Health>,
}

/// Whether the store can be used, as its writer last found: shared by the
/// writer (which sets it) and the reads (which check it first, so that
/// they fail at once instead of waiting for a database that is gone).
#[derive(Debug, Default)]
pub(crate) struct Health {
    /// The SQLite file was removed or replaced: for good.
    lost: std::sync::atomic::AtomicBool,
    /// The writer's last attempt to reach PostgreSQL failed (it keeps
    /// trying, with a capped backoff, whether or not writes come).
    unreachable: std::sync::atomic::AtomicBool,
}

impl Health {
    /// `Err` while the store is known to be down.
    pub(crate) fn check(&self) -> Result<(), StoreError> {
        if self.lost.load(Ordering::Relaxed) {
            return Err(StoreError::StoreLost);
        }
        if self.unreachable.load(Ordering::Relaxed) {
            return Err(StoreError::Unavailable);
        }
        Ok(())
    }

    /// Marks the store lost; `true` the first time.
    pub(crate) fn mark_lost(&self) -> bool {
        !self.lost.swap(true, Ordering::Relaxed)
    }

    /// Whether the database can be reached, as the writer last found.
    pub(crate) fn set_reachable(&self, reachable: bool) {
        self.unreachable.store(!reachable, Ordering::Relaxed);
    }
}

impl<DB: sqlx::Database> std::fmt::Debug for SqlStore<DB> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlStore").field("backend", &DB::NAME).field("node_id", &self.node_id).finish_non_exhaustive()
    }
}

impl<DB: sqlx::Database> SqlStore<DB> {
    /// The `eft_trade_no` node id this instance drew from the store (1 on
    /// SQLite; from a database sequence on PostgreSQL, distinct for up to
    /// 100 live instances).
    pub fn node_id(&self) -> u8 {
        self.node_id
    }
}

impl<DB> Store for SqlStore<DB>
where
    DB: sqlx::Database,
    DB::Connection: db::Db,
{
    fn merchant<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<Merchant>> {
        Box::pin(self.read_merchant(key))
    }

    fn add_merchant(&self, new: NewMerchant) -> StoreFuture<'_, ()> {
        Box::pin(self.insert_merchant(new))
    }

    fn list_merchants(&self) -> StoreFuture<'_, Vec<MerchantSummary>> {
        pooled!(self, |c| ops::list_merchants(c))
    }

    fn set_merchant_status<'a>(&'a self, key: &'a str, status: MerchantStatus) -> StoreFuture<'a, bool> {
        pooled!(self, |c| ops::set_merchant_status(c, key, status))
    }

    fn place_order(&self, order: Order) -> StoreFuture<'_, PlaceOutcome> {
        Box::pin(self.writer.write(|reply| writer::WriteOp::PlaceOrder(Box::new(order), reply)))
    }

    fn order_by_out_trade_no<'a>(&'a self, key: &'a str, out_trade_no: &'a str) -> StoreFuture<'a, Option<Order>> {
        pooled!(self, |c| ops::order_by_out(c, key, out_trade_no))
    }

    fn count_orders(&self) -> StoreFuture<'_, i64> {
        pooled!(self, |c| ops::count_orders(c))
    }

    fn setting_or_init<'a>(&'a self, name: &'a str, init: String) -> StoreFuture<'a, String> {
        pooled!(self, |c| ops::setting_or_init(c, name, &init))
    }

    fn order_by_eft_trade_no<'a>(&'a self, eft_trade_no: &'a str) -> StoreFuture<'a, Option<Order>> {
        pooled!(self, |c| ops::order_by_eft(c, eft_trade_no))
    }

    fn settle(&self, transition: Transition) -> StoreFuture<'_, SettleOutcome> {
        Box::pin(self.writer.write(|reply| writer::WriteOp::Settle(Box::new(transition), reply)))
    }

    fn expired_pending(&self, now: i64, limit: i64) -> StoreFuture<'_, Vec<Order>> {
        pooled!(self, |c| ops::expired_pending(c, now, limit))
    }

    fn claim_notifications(&self, now: i64, lease_until: i64, limit: i64) -> StoreFuture<'_, Vec<Notification>> {
        Box::pin(self.writer.write(move |reply| writer::WriteOp::Claim { now, lease_until, limit, reply }))
    }

    fn record_attempt(&self, attempt: AttemptRecord) -> StoreFuture<'_, ()> {
        Box::pin(self.writer.write(|reply| writer::WriteOp::Attempt(Box::new(attempt), reply)))
    }

    fn notifications_for_order<'a>(&'a self, eft_trade_no: &'a str) -> StoreFuture<'a, Vec<Notification>> {
        pooled!(self, |c| ops::notifications_for_order(c, eft_trade_no))
    }

    fn attempts_for_notification(&self, id: i64) -> StoreFuture<'_, Vec<Attempt>> {
        pooled!(self, |c| ops::attempts_for_notification(c, id))
    }

    fn refund(&self, refund: NewRefund) -> StoreFuture<'_, RefundOutcome> {
        Box::pin(self.writer.write(|reply| writer::WriteOp::Refund(Box::new(refund), reply)))
    }

    fn complete_refund(&self, completion: RefundCompletion) -> StoreFuture<'_, bool> {
        Box::pin(self.writer.write(|reply| writer::WriteOp::CompleteRefund(Box::new(completion), reply)))
    }

    fn cancel(&self, cancel: NewCancel) -> StoreFuture<'_, RefundOutcome> {
        Box::pin(self.writer.write(|reply| writer::WriteOp::Cancel(Box::new(cancel), reply)))
    }

    fn choose_wallet(&self, choice: WalletChoice) -> StoreFuture<'_, ChoiceOutcome> {
        Box::pin(self.writer.write(|reply| writer::WriteOp::ChooseWallet(Box::new(choice), reply)))
    }

    fn refund_by_out_refund_no<'a>(&'a self, key: &'a str, out_refund_no: &'a str) -> StoreFuture<'a, Option<Refund>> {
        pooled!(self, |c| ops::refund_by_out_refund_no(c, key, out_refund_no))
    }

    fn due_refunds(&self, now: i64, limit: i64) -> StoreFuture<'_, Vec<Refund>> {
        pooled!(self, |c| ops::due_refunds(c, now, limit))
    }

    fn refunds_total<'a>(&'a self, eft_trade_no: &'a str) -> StoreFuture<'a, i64> {
        pooled!(self, |c| ops::refunds_total(c, eft_trade_no))
    }

    fn owed_notifications(&self) -> StoreFuture<'_, OwedNotifications> {
        pooled!(self, |c| ops::owed_notifications(c))
    }

    fn probe_write(&self, at: i64) -> StoreFuture<'_, ()> {
        Box::pin(self.writer.write(move |reply| writer::WriteOp::Probe { at, reply }))
    }

    fn replace_secret<'a>(
        &'a self,
        key: &'a str,
        secret: &'a secrecy::SecretString,
        previous_until: Option<i64>,
        now: i64,
    ) -> StoreFuture<'a, bool> {
        Box::pin(self.write_secret(key, secret, previous_until, now))
    }

    fn promote_secret<'a>(&'a self, key: &'a str, now: i64) -> StoreFuture<'a, PromoteOutcome> {
        Box::pin(self.promote(key, now))
    }

    fn secret_setting_or_init<'a>(
        &'a self,
        name: &'a str,
        init: secrecy::SecretString,
    ) -> StoreFuture<'a, secrecy::SecretString> {
        Box::pin(self.sealed_setting(name, init))
    }

    fn unlock(&self, keys: KeySource, now: i64) -> StoreFuture<'_, Unlocked> {
        Box::pin(self.take_keys(keys, now))
    }

    fn rotate_master_key(&self, now: i64) -> StoreFuture<'_, Rekeyed> {
        Box::pin(self.rekey(now))
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

    fn ensure_merchant(&self, new: NewMerchant) -> StoreFuture<'_, EnsuredMerchant> {
        Box::pin(self.ensure(new))
    }

    fn add_fault<'a>(&'a self, key: &'a str, rule: &'a FaultRule, at: i64) -> StoreFuture<'a, StoredFault> {
        pooled!(self, |c| ops::add_fault(c, key, rule, at))
    }

    fn faults<'a>(&'a self, key: Option<&'a str>) -> StoreFuture<'a, Vec<StoredFault>> {
        pooled!(self, |c| ops::faults(c, key))
    }

    fn clear_faults<'a>(&'a self, key: &'a str, id: Option<i64>) -> StoreFuture<'a, u64> {
        pooled!(self, |c| ops::clear_faults(c, key, id))
    }

    fn consume_fault(&self, id: i64) -> StoreFuture<'_, Option<i64>> {
        pooled!(self, |c| ops::consume_fault(c, id))
    }

    fn postpone_notification(&self, id: i64, until: i64) -> StoreFuture<'_, ()> {
        pooled!(self, |c| ops::postpone_notification(c, id, until))
    }
}
