//! What the developer console reads and writes ([`ConsoleStore`]): the
//! journal (request log and order events), bounded scans of orders and
//! requests, notification actions, merchant secrets and sandbox resets.
//!
//! Lists are keyset pages over bounded scans: a page looks at no more
//! than a fixed number of rows below its cursor ([`Scanned`]), so it stays
//! fast whatever its filters match; when a scan ends before the page is
//! full, the next page continues below where it stopped. The statements
//! are in `sql` (section "the developer console"), rows in `rows`, logic
//! in `ops`, like every other operation.

use secrecy::{ExposeSecret, SecretString};

use super::writer::WriteOp;
use super::{SqlStore, StoreFuture, db, ops};
use crate::domain::{Notification, Order, OrderState, OutboxStatus, Refund};
use crate::journal::{JournalEntry, OrderEvent, RequestRecord};

/// A request log record as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedRequest {
    /// Its id (grows with time).
    pub id: i64,
    /// What was recorded.
    pub record: RequestRecord,
}

/// An order event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Its id (grows with time).
    pub id: i64,
    /// What was recorded.
    pub event: OrderEvent,
}

/// An outbox row with when it was queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedNotification {
    /// The row.
    pub notification: Notification,
    /// When it was queued, unix seconds.
    pub created_at: i64,
}

/// What a bounded scan found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scanned<T, K> {
    /// The matches, newest first, at most the scan's `limit`.
    pub items: Vec<T>,
    /// Whether the scan reached the end (nothing older is left).
    pub exhausted: bool,
    /// The lowest key the scan looked at (where the next scan continues).
    pub low: Option<K>,
}

/// A bounded scan of orders, newest (`eft_trade_no`) first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderScan {
    /// Only orders below this `eft_trade_no`.
    pub below: String,
    /// Only orders at or above this `eft_trade_no` (`""`: no floor).
    pub floor: String,
    /// Most orders looked at.
    pub budget: i64,
    /// Most matches returned.
    pub limit: i64,
    /// Only this merchant's.
    pub merchant: Option<String>,
    /// Only this service label.
    pub service: Option<String>,
    /// Only orders in this stored state.
    pub state: Option<OrderState>,
    /// Only orders created at or after (unix seconds).
    pub from: Option<i64>,
    /// Only orders created before (unix seconds).
    pub to: Option<i64>,
}

/// A bounded scan of the request log, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestScan {
    /// Only records below this id.
    pub below: i64,
    /// Most records looked at.
    pub budget: i64,
    /// Most matches returned.
    pub limit: i64,
    /// Only this `user_confirm_key`.
    pub merchant: Option<String>,
    /// Only this `return_status`.
    pub return_status: Option<String>,
    /// Only refusals (anything but `00`).
    pub refused_only: bool,
    /// Only this service.
    pub service: Option<String>,
    /// Only this endpoint.
    pub endpoint: Option<String>,
    /// Only records at or after (unix ms): the retention window.
    pub since_ms: i64,
}

/// Which notifications to list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationQuery {
    /// Only in this status (owed ones come soonest due first, the others
    /// newest first).
    pub status: Option<OutboxStatus>,
    /// Only this merchant's.
    pub merchant: Option<String>,
    /// Only this order's.
    pub eft_trade_no: Option<String>,
    /// Keyset cursor: `(next_attempt_at, id)` for owed rows (after it),
    /// `(_, id)` otherwise (below it).
    pub below: (i64, i64),
    /// Most rows.
    pub limit: i64,
}

/// The console's store operations. Every [`super::Store`] has them.
pub trait ConsoleStore {
    /// Queues a journal record; the writer commits it with its next batch
    /// (or within [`crate::journal::FLUSH_AFTER`]). Never waits.
    fn journal(&self, entry: JournalEntry);
    /// Commits whatever the journal holds now (nothing to do when empty).
    fn flush_journal(&self) -> StoreFuture<'_, ()>;
    /// Records dropped because the journal's queue was full.
    fn journal_dropped(&self) -> u64;
    /// A bounded scan of orders.
    fn scan_orders<'a>(&'a self, scan: &'a OrderScan) -> StoreFuture<'a, Scanned<Order, String>>;
    /// Orders whose `out_trade_no` (any merchant) or `eft_trade_no` is `q`.
    fn search_orders<'a>(&'a self, q: &'a str) -> StoreFuture<'a, Vec<Order>>;
    /// The lowest and highest `eft_trade_no` (`None`: no orders).
    fn order_key_range(&self) -> StoreFuture<'_, Option<(String, String)>>;
    /// Refunds of an order, oldest first.
    fn refunds_of_order<'a>(&'a self, eft_trade_no: &'a str) -> StoreFuture<'a, Vec<Refund>>;
    /// Events of an order, oldest first.
    fn events_of_order<'a>(&'a self, eft_trade_no: &'a str) -> StoreFuture<'a, Vec<StoredEvent>>;
    /// Logged requests naming this merchant and `out_trade_no`, oldest first.
    fn requests_of_order<'a>(&'a self, merchant: &'a str, out_trade_no: &'a str)
    -> StoreFuture<'a, Vec<LoggedRequest>>;
    /// A bounded scan of the request log.
    fn scan_requests<'a>(&'a self, scan: &'a RequestScan) -> StoreFuture<'a, Scanned<LoggedRequest, i64>>;
    /// Logged requests after id `after`, oldest first.
    fn requests_after<'a>(
        &'a self,
        after: i64,
        merchant: Option<&'a str>,
        limit: i64,
    ) -> StoreFuture<'a, Vec<LoggedRequest>>;
    /// Orders after `after` created at or after `since` (unix seconds), oldest first.
    fn orders_after<'a>(
        &'a self,
        after: &'a str,
        since: i64,
        merchant: Option<&'a str>,
        limit: i64,
    ) -> StoreFuture<'a, Vec<Order>>;
    /// One logged request.
    fn logged_request(&self, id: i64) -> StoreFuture<'_, Option<LoggedRequest>>;
    /// The newest request log id.
    fn last_request_id(&self) -> StoreFuture<'_, Option<i64>>;
    /// Notifications ([`NotificationQuery`]).
    fn list_notifications<'a>(&'a self, q: &'a NotificationQuery) -> StoreFuture<'a, Vec<ListedNotification>>;
    /// One notification.
    fn notification_by_id(&self, id: i64) -> StoreFuture<'_, Option<ListedNotification>>;
    /// Makes an owed notification due at `now`; `false` when it is not
    /// owed or is being delivered at this moment.
    fn deliver_now(&self, id: i64, now: i64) -> StoreFuture<'_, bool>;
    /// Queues a new delivery of a delivered or failed notification, due at
    /// `now`; its id, or `None` when the row is owed or missing.
    fn resend_notification(&self, id: i64, now: i64) -> StoreFuture<'_, Option<i64>>;
    /// Deletes up to `limit` request records and `limit` events older than
    /// `before_ms`; how many.
    fn prune_journal(&self, before_ms: i64, limit: i64) -> StoreFuture<'_, u64>;
    /// Deletes a merchant's orders, refunds, notifications, events and
    /// requests (sandbox reset); how many orders.
    fn reset_merchant_data<'a>(&'a self, key: &'a str) -> StoreFuture<'a, u64>;
    /// Replaces a merchant's secret; `false` if there is no such merchant.
    fn set_merchant_secret<'a>(&'a self, key: &'a str, secret: &'a SecretString) -> StoreFuture<'a, bool>;
}

impl<DB> ConsoleStore for SqlStore<DB>
where
    DB: sqlx::Database,
    DB::Connection: db::Db,
{
    fn journal(&self, entry: JournalEntry) {
        self.writer.journal().push(entry);
    }

    fn flush_journal(&self) -> StoreFuture<'_, ()> {
        // Always through the writer, even when nothing is queued: records
        // the writer has taken for a batch not yet committed are in no
        // queue, and only a write after that batch sees them committed.
        Box::pin(self.writer.write(|reply| WriteOp::Flush(Some(reply))))
    }

    fn journal_dropped(&self) -> u64 {
        self.writer.journal().dropped()
    }

    fn scan_orders<'a>(&'a self, scan: &'a OrderScan) -> StoreFuture<'a, Scanned<Order, String>> {
        pooled!(self, |c| ops::scan_orders(c, scan))
    }

    fn search_orders<'a>(&'a self, q: &'a str) -> StoreFuture<'a, Vec<Order>> {
        pooled!(self, |c| ops::search_orders(c, q))
    }

    fn order_key_range(&self) -> StoreFuture<'_, Option<(String, String)>> {
        pooled!(self, |c| ops::order_key_range(c))
    }

    fn refunds_of_order<'a>(&'a self, eft_trade_no: &'a str) -> StoreFuture<'a, Vec<Refund>> {
        pooled!(self, |c| ops::refunds_of_order(c, eft_trade_no))
    }

    fn events_of_order<'a>(&'a self, eft_trade_no: &'a str) -> StoreFuture<'a, Vec<StoredEvent>> {
        pooled!(self, |c| ops::events_of_order(c, eft_trade_no))
    }

    fn requests_of_order<'a>(
        &'a self,
        merchant: &'a str,
        out_trade_no: &'a str,
    ) -> StoreFuture<'a, Vec<LoggedRequest>> {
        pooled!(self, |c| ops::requests_of_order(c, merchant, out_trade_no))
    }

    fn scan_requests<'a>(&'a self, scan: &'a RequestScan) -> StoreFuture<'a, Scanned<LoggedRequest, i64>> {
        pooled!(self, |c| ops::scan_requests(c, scan))
    }

    fn requests_after<'a>(
        &'a self,
        after: i64,
        merchant: Option<&'a str>,
        limit: i64,
    ) -> StoreFuture<'a, Vec<LoggedRequest>> {
        pooled!(self, |c| ops::requests_after(c, after, merchant, limit))
    }

    fn orders_after<'a>(
        &'a self,
        after: &'a str,
        since: i64,
        merchant: Option<&'a str>,
        limit: i64,
    ) -> StoreFuture<'a, Vec<Order>> {
        pooled!(self, |c| ops::orders_after(c, after, since, merchant, limit))
    }

    fn logged_request(&self, id: i64) -> StoreFuture<'_, Option<LoggedRequest>> {
        pooled!(self, |c| ops::logged_request(c, id))
    }

    fn last_request_id(&self) -> StoreFuture<'_, Option<i64>> {
        pooled!(self, |c| ops::last_request_id(c))
    }

    fn list_notifications<'a>(&'a self, q: &'a NotificationQuery) -> StoreFuture<'a, Vec<ListedNotification>> {
        pooled!(self, |c| ops::list_notifications(c, q))
    }

    fn notification_by_id(&self, id: i64) -> StoreFuture<'_, Option<ListedNotification>> {
        pooled!(self, |c| ops::notification_by_id(c, id))
    }

    fn deliver_now(&self, id: i64, now: i64) -> StoreFuture<'_, bool> {
        Box::pin(self.writer.write(move |reply| WriteOp::DeliverNow { id, now, reply }))
    }

    fn resend_notification(&self, id: i64, now: i64) -> StoreFuture<'_, Option<i64>> {
        Box::pin(self.writer.write(move |reply| WriteOp::Resend { id, now, reply }))
    }

    fn prune_journal(&self, before_ms: i64, limit: i64) -> StoreFuture<'_, u64> {
        Box::pin(self.writer.write(move |reply| WriteOp::PruneJournal { before_ms, limit, reply }))
    }

    fn reset_merchant_data<'a>(&'a self, key: &'a str) -> StoreFuture<'a, u64> {
        let key = key.to_owned();
        Box::pin(self.writer.write(move |reply| WriteOp::ResetMerchant { key, reply }))
    }

    fn set_merchant_secret<'a>(&'a self, key: &'a str, secret: &'a SecretString) -> StoreFuture<'a, bool> {
        pooled!(self, |c| ops::set_merchant_secret(c, key, secret.expose_secret()))
    }
}
