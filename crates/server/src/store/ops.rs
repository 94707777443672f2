//! Every store operation, written once over the [`Db`] primitives: the
//! writer's operations (run inside its batch transaction) and the reads.
//!
//! What makes the writes safe across instances sharing a PostgreSQL
//! database is in the SQL: unique constraints decide `out_trade_no` and
//! `out_refund_no` races (`ON CONFLICT DO NOTHING`), a refund locks its
//! order row before checking the running total, a transition only applies
//! to a still-pending row, and notifications are claimed with a lease
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL).

use super::console::{
    ListedNotification, LoggedRequest, NotificationQuery, OrderScan, RequestScan, Scanned, StoredEvent,
};
use super::db::{Arg, Db};
use super::{ChoiceOutcome, OwedNotifications, PlaceOutcome, RefundOutcome, SettleOutcome, StoreError, rows, sql};
use crate::domain::OutboxStatus;
use crate::domain::{
    Attempt, AttemptRecord, NewCancel, NewNotification, NewRefund, Notification, Order, Refund, RefundCompletion,
    RefundRefusal, Transition, WalletChoice,
};
use crate::journal::JournalEntry;
use crate::merchant::{Merchant, MerchantStatus, MerchantSummary};
use crate::vault::{KeyVersion, Sealed};

/// What inserting one order did.
pub(crate) enum Inserted {
    /// The order is new; the caller's record is what was stored.
    New,
    /// `(merchant, out_trade_no)` already existed; this is the stored order.
    Existing(Box<Order>),
}

impl Inserted {
    /// The outcome for the caller, who gave `order`.
    pub(crate) fn outcome(self, order: Order) -> PlaceOutcome {
        match self {
            Inserted::New => PlaceOutcome::Created(order),
            Inserted::Existing(stored) => PlaceOutcome::Existing(*stored),
        }
    }
}

/// Inserts orders unless their `(merchant, out_trade_no)` exists: one
/// statement, prepared once, run per order; one result per order.
pub(crate) async fn insert_orders<D: Db>(
    db: &mut D,
    orders: &[&Order],
) -> Result<Vec<Result<Inserted, StoreError>>, StoreError> {
    let scene_fields: Vec<Option<String>> = orders.iter().map(|o| rows::scene_fields_text(o)).collect();
    let args: Vec<[Arg<'_>; 27]> =
        orders.iter().zip(&scene_fields).map(|(o, s)| rows::order_args(o, s.as_deref())).collect();
    let inserted = db.execute_each(&sql::INSERT_ORDER, &args).await?;
    let mut out = Vec::with_capacity(orders.len());
    for (o, n) in orders.iter().zip(inserted) {
        if n == 1 {
            out.push(Ok(Inserted::New));
            continue;
        }
        // Skipped: the merchant's out_trade_no is taken (an earlier order, or
        // one earlier in this batch), or, never in practice, the eft_trade_no.
        out.push(match order_by_out(db, o.user_confirm_key.as_str(), o.out_trade_no.as_str()).await? {
            Some(stored) => Ok(Inserted::Existing(Box::new(stored))),
            None => Err(StoreError::IdCollision),
        });
    }
    Ok(out)
}

/// Applies a transition to a still-pending order, with its outbox row.
pub(crate) async fn settle<D: Db>(db: &mut D, t: &Transition) -> Result<SettleOutcome, StoreError> {
    let moved = db
        .fetch_optional(
            &sql::SETTLE,
            &[
                Arg::Text(t.state.as_str()),
                Arg::Int(t.at),
                Arg::Text(&t.transaction_id),
                Arg::OptText(t.card_scheme.as_deref()),
                Arg::Text(t.eft_trade_no.as_str()),
            ],
            rows::order,
        )
        .await?;
    let Some(order) = moved else {
        return Ok(match order_by_eft(db, t.eft_trade_no.as_str()).await? {
            Some(o) => SettleOutcome::AlreadyFinal(o),
            None => SettleOutcome::NotFound,
        });
    };
    if let Some(n) = &t.notification {
        insert_notification(db, order.eft_trade_no.as_str(), order.user_confirm_key.as_str(), n, t.at).await?;
    }
    Ok(SettleOutcome::Applied(order))
}

async fn insert_notification<D: Db>(
    db: &mut D,
    eft_trade_no: &str,
    user_confirm_key: &str,
    n: &NewNotification,
    at: i64,
) -> Result<(), StoreError> {
    db.execute(&sql::INSERT_NOTIFICATION, &rows::notification_args(eft_trade_no, user_confirm_key, n, at)).await?;
    Ok(())
}

/// Leases up to `limit` due notifications until `lease_until`.
pub(crate) async fn claim<D: Db>(
    db: &mut D,
    now: i64,
    lease_until: i64,
    limit: i64,
) -> Result<Vec<Notification>, StoreError> {
    db.fetch_all(&sql::CLAIM, &[Arg::Int(lease_until), Arg::Int(now), Arg::Int(limit)], rows::notification).await
}

/// Records an attempt and moves its outbox row on.
pub(crate) async fn record_attempt<D: Db>(db: &mut D, a: &AttemptRecord) -> Result<(), StoreError> {
    db.execute(&sql::INSERT_ATTEMPT, &rows::attempt_args(a)).await?;
    let next = a.outbox_update();
    db.execute(
        &sql::AFTER_ATTEMPT,
        &[
            Arg::Int(a.attempt),
            Arg::Text(next.status.as_str()),
            Arg::OptInt(next.next_attempt_at),
            Arg::OptInt(next.delivered_at),
            Arg::Int(a.notification_id),
        ],
    )
    .await?;
    Ok(())
}

/// Checks and stores a refund (the rule is [`Order::plan_refund`]),
/// updating the order's refunded total.
pub(crate) async fn refund<D: Db>(db: &mut D, n: &NewRefund) -> Result<RefundOutcome, StoreError> {
    // Locked on PostgreSQL: refunds of one order, from any instance, run one at a time.
    let Some(mut order) =
        db.fetch_optional(&sql::ORDER_BY_EFT_LOCKED, &[Arg::Text(n.eft_trade_no.as_str())], rows::order).await?
    else {
        return Ok(RefundOutcome::NotFound);
    };
    if let Some(existing) = existing_refund(db, n).await? {
        return Ok(existing);
    }
    let plan = match order.plan_refund(n.amount, n.complete_after, n.at) {
        Ok(plan) => plan,
        Err(RefundRefusal::NotPaid) => return Ok(RefundOutcome::NotPaid(order)),
        Err(RefundRefusal::Closed) => return Ok(RefundOutcome::Closed(order)),
        Err(RefundRefusal::Exceeds) => return Ok(RefundOutcome::Exceeds(order)),
    };
    let Some(stored) = db.fetch_optional(&sql::INSERT_REFUND, &rows::refund_args(n, &plan), rows::refund).await? else {
        // Another instance took this out_refund_no (for another order) meanwhile.
        return Ok(existing_refund(db, n).await?.unwrap_or(RefundOutcome::NotFound));
    };
    order.apply_refund(&plan);
    db.execute(
        &sql::SET_REFUNDED,
        &[Arg::Int(order.refunded_minor), Arg::Text(order.state.as_str()), Arg::Text(n.eft_trade_no.as_str())],
    )
    .await?;
    Ok(RefundOutcome::Applied(stored, order))
}

/// Cancels (reverses) a paid order: the refund of all that is left of it
/// ([`Order::cancel_amount`], decided on the locked row), which closes it.
pub(crate) async fn cancel<D: Db>(db: &mut D, c: &NewCancel) -> Result<RefundOutcome, StoreError> {
    let Some(order) =
        db.fetch_optional(&sql::ORDER_BY_EFT_LOCKED, &[Arg::Text(c.eft_trade_no.as_str())], rows::order).await?
    else {
        return Ok(RefundOutcome::NotFound);
    };
    match order.cancel_amount() {
        Ok(amount) => refund(db, &c.refund(amount)).await,
        Err(RefundRefusal::NotPaid) => Ok(RefundOutcome::NotPaid(order)),
        Err(RefundRefusal::Closed | RefundRefusal::Exceeds) => Ok(RefundOutcome::Closed(order)),
    }
}

/// Records a cashier buyer's wallet: only on a pending order without one.
pub(crate) async fn choose_wallet<D: Db>(db: &mut D, c: &WalletChoice) -> Result<ChoiceOutcome, StoreError> {
    let chosen = db
        .fetch_optional(
            &sql::CHOOSE_WALLET,
            &[Arg::Text(c.pay_type.as_str()), Arg::Text(c.wallet.as_str()), Arg::Text(c.eft_trade_no.as_str())],
            rows::order,
        )
        .await?;
    if let Some(order) = chosen {
        return Ok(ChoiceOutcome::Chosen(order));
    }
    Ok(match order_by_eft(db, c.eft_trade_no.as_str()).await? {
        Some(o) => ChoiceOutcome::Unchanged(o),
        None => ChoiceOutcome::NotFound,
    })
}

/// The refund stored under this `out_refund_no`, with its order.
async fn existing_refund<D: Db>(db: &mut D, n: &NewRefund) -> Result<Option<RefundOutcome>, StoreError> {
    let Some(r) = refund_by_out_refund_no(db, n.user_confirm_key.as_str(), &n.out_refund_no).await? else {
        return Ok(None);
    };
    let order = order_by_eft(db, r.eft_trade_no.as_str()).await?.ok_or(StoreError::Corrupt("refunds.eft_trade_no"))?;
    Ok(Some(RefundOutcome::Existing(r, order)))
}

/// Completes an in-progress apply-refund, with its outbox row; `false` if
/// it was not in progress.
pub(crate) async fn complete_refund<D: Db>(db: &mut D, c: &RefundCompletion) -> Result<bool, StoreError> {
    let done =
        db.fetch_optional(&sql::COMPLETE_REFUND, &[Arg::Int(c.at), Arg::Int(c.refund_id)], rows::refund_owner).await?;
    let Some((eft_trade_no, key)) = done else { return Ok(false) };
    if let Some(n) = &c.notification {
        insert_notification(db, &eft_trade_no, &key, n, c.at).await?;
    }
    Ok(true)
}

// ---- reads ----

/// PostgreSQL text cannot hold NUL; a key containing one names nothing
/// (the gateway never stores one), so lookups answer "not found" instead
/// of a database error, on both backends.
fn unstorable(parts: &[&str]) -> bool {
    parts.iter().any(|p| p.contains('\0'))
}

pub(crate) async fn order_by_eft<D: Db>(db: &mut D, eft_trade_no: &str) -> Result<Option<Order>, StoreError> {
    if unstorable(&[eft_trade_no]) {
        return Ok(None);
    }
    db.fetch_optional(&sql::ORDER_BY_EFT, &[Arg::Text(eft_trade_no)], rows::order).await
}

pub(crate) async fn order_by_out<D: Db>(
    db: &mut D,
    key: &str,
    out_trade_no: &str,
) -> Result<Option<Order>, StoreError> {
    if unstorable(&[key, out_trade_no]) {
        return Ok(None);
    }
    db.fetch_optional(&sql::ORDER_BY_OUT, &[Arg::Text(key), Arg::Text(out_trade_no)], rows::order).await
}

pub(crate) async fn expired_pending<D: Db>(db: &mut D, now: i64, limit: i64) -> Result<Vec<Order>, StoreError> {
    db.fetch_all(&sql::EXPIRED_PENDING, &[Arg::Int(now), Arg::Int(limit)], rows::order).await
}

pub(crate) async fn count_orders<D: Db>(db: &mut D) -> Result<i64, StoreError> {
    Ok(db.fetch_optional(&sql::COUNT_ORDERS, &[], rows::count).await?.unwrap_or(0))
}

pub(crate) async fn notifications_for_order<D: Db>(
    db: &mut D,
    eft_trade_no: &str,
) -> Result<Vec<Notification>, StoreError> {
    if unstorable(&[eft_trade_no]) {
        return Ok(Vec::new());
    }
    db.fetch_all(&sql::NOTIFICATIONS_OF_ORDER, &[Arg::Text(eft_trade_no)], rows::notification).await
}

pub(crate) async fn attempts_for_notification<D: Db>(db: &mut D, id: i64) -> Result<Vec<Attempt>, StoreError> {
    db.fetch_all(&sql::ATTEMPTS_OF_NOTIFICATION, &[Arg::Int(id)], rows::attempt).await
}

pub(crate) async fn refund_by_out_refund_no<D: Db>(
    db: &mut D,
    key: &str,
    out_refund_no: &str,
) -> Result<Option<Refund>, StoreError> {
    if unstorable(&[key, out_refund_no]) {
        return Ok(None);
    }
    db.fetch_optional(&sql::REFUND_BY_OUT_REFUND_NO, &[Arg::Text(key), Arg::Text(out_refund_no)], rows::refund).await
}

pub(crate) async fn due_refunds<D: Db>(db: &mut D, now: i64, limit: i64) -> Result<Vec<Refund>, StoreError> {
    db.fetch_all(&sql::DUE_REFUNDS, &[Arg::Int(now), Arg::Int(limit)], rows::refund).await
}

pub(crate) async fn refunds_total<D: Db>(db: &mut D, eft_trade_no: &str) -> Result<i64, StoreError> {
    if unstorable(&[eft_trade_no]) {
        return Ok(0);
    }
    Ok(db.fetch_optional(&sql::REFUNDS_TOTAL, &[Arg::Text(eft_trade_no)], rows::total).await?.unwrap_or(0))
}

pub(crate) async fn owed_notifications<D: Db>(db: &mut D) -> Result<OwedNotifications, StoreError> {
    let owed = db
        .fetch_optional(&sql::OWED_NOTIFICATIONS, &[], |r| {
            Ok(OwedNotifications { count: r.int("n")?, oldest_created_at: r.opt_int("oldest")? })
        })
        .await?;
    Ok(owed.unwrap_or_default())
}

/// The readiness probe: a trivial write through the batch's transaction.
pub(crate) async fn probe<D: Db>(db: &mut D, at: i64) -> Result<(), StoreError> {
    let at = at.to_string();
    db.execute(&sql::PROBE, &[Arg::Text(super::PROBE_SETTING), Arg::Text(&at)]).await?;
    Ok(())
}

// ---- merchants and settings ----

pub(crate) async fn merchant<D: Db>(db: &mut D, key: &str) -> Result<Option<rows::StoredMerchant>, StoreError> {
    if unstorable(&[key]) {
        return Ok(None);
    }
    db.fetch_optional(&sql::MERCHANT, &[Arg::Text(key)], rows::merchant).await
}

/// Inserts a merchant whose secret is sealed; 0 when the key is taken or
/// the store's key version is no longer the secret's (the caller tells
/// which with [`key_version`]).
pub(crate) async fn add_merchant<D: Db>(
    db: &mut D,
    m: &Merchant,
    secret: &Sealed,
    created_at: i64,
) -> Result<u64, StoreError> {
    let ports = crate::merchant::format_ports(&m.allowed_ports);
    db.execute(&sql::ADD_MERCHANT, &rows::merchant_args(m, secret, &ports, created_at)).await
}

pub(crate) async fn list_merchants<D: Db>(db: &mut D) -> Result<Vec<MerchantSummary>, StoreError> {
    db.fetch_all(&sql::LIST_MERCHANTS, &[], rows::merchant_summary).await
}

pub(crate) async fn set_merchant_status<D: Db>(
    db: &mut D,
    key: &str,
    status: MerchantStatus,
) -> Result<bool, StoreError> {
    if unstorable(&[key]) {
        return Ok(false);
    }
    Ok(db.execute(&sql::SET_MERCHANT_STATUS, &[Arg::Text(status.as_str()), Arg::Text(key)]).await? == 1)
}

pub(crate) async fn setting_or_init<D: Db>(db: &mut D, name: &str, init: &str) -> Result<String, StoreError> {
    db.execute(&sql::INIT_SETTING, &[Arg::Text(name), Arg::Text(init)]).await?;
    db.fetch_optional(&sql::SETTING, &[Arg::Text(name)], rows::value)
        .await?
        .ok_or(StoreError::Corrupt("gateway_settings.value"))
}

// ---- sealed values (vault.rs; the logic around them is in sealed.rs) ----

/// The store's newest master key version (0: clear).
pub(crate) async fn key_version<D: Db>(db: &mut D) -> Result<i64, StoreError> {
    Ok(db.fetch_optional(&sql::KEY_VERSION, &[], rows::count).await?.unwrap_or(0))
}

pub(crate) async fn master_keys<D: Db>(db: &mut D) -> Result<Vec<KeyVersion>, StoreError> {
    db.fetch_all(&sql::MASTER_KEYS, &[], rows::key_version).await
}

/// `false` when the version or the key is taken.
pub(crate) async fn register_key<D: Db>(db: &mut D, version: i64, check: &str, now: i64) -> Result<bool, StoreError> {
    Ok(db.execute(&sql::REGISTER_KEY, &[Arg::Int(version), Arg::Text(check), Arg::Int(now)]).await? == 1)
}

pub(crate) async fn retire_keys_below<D: Db>(db: &mut D, version: i64, now: i64) -> Result<u64, StoreError> {
    db.execute(&sql::RETIRE_KEYS, &[Arg::Int(version), Arg::Int(now)]).await
}

pub(crate) async fn lock_sealed<D: Db>(db: &mut D) -> Result<(), StoreError> {
    db.execute(&sql::LOCK_SEALED, &[]).await?;
    Ok(())
}

/// Drops what SQLite's WAL still holds of replaced values (best effort:
/// a busy checkpoint leaves it to the next one).
pub(crate) async fn forget_replaced<D: Db>(db: &mut D) -> Result<(), StoreError> {
    db.fetch_optional(&sql::FORGET_REPLACED, &[], |_| Ok(())).await?;
    Ok(())
}

/// Every merchant's stored secrets.
pub(crate) async fn merchant_secrets<D: Db>(
    db: &mut D,
) -> Result<Vec<(String, secrecy::SecretString, Option<secrecy::SecretString>)>, StoreError> {
    db.fetch_all(&sql::MERCHANT_SECRETS, &[], rows::merchant_secrets).await
}

/// Which stored value a re-seal replaces.
#[derive(Debug, Clone, Copy)]
pub(crate) enum SealedValue<'a> {
    /// A merchant's `secret`.
    Secret(&'a str),
    /// A merchant's `previous_secret`.
    Previous(&'a str),
    /// A gateway setting.
    Setting(&'a str),
}

/// Replaces `old` by `new` unless the value changed meanwhile.
pub(crate) async fn reseal<D: Db>(
    db: &mut D,
    what: SealedValue<'_>,
    old: &str,
    new: &Sealed,
) -> Result<bool, StoreError> {
    let (statement, name) = match what {
        SealedValue::Secret(k) => (&sql::RESEAL_SECRET, k),
        SealedValue::Previous(k) => (&sql::RESEAL_PREVIOUS, k),
        SealedValue::Setting(n) => (&sql::RESEAL_SETTING, n),
    };
    let args = [Arg::Text(new.text()), Arg::Text(name), Arg::Text(old), Arg::Int(new.version)];
    Ok(db.execute(statement, &args).await? == 1)
}

pub(crate) async fn setting<D: Db>(db: &mut D, name: &str) -> Result<Option<String>, StoreError> {
    db.fetch_optional(&sql::SETTING, &[Arg::Text(name)], rows::value).await
}

pub(crate) async fn init_sealed_setting<D: Db>(db: &mut D, name: &str, value: &Sealed) -> Result<(), StoreError> {
    db.execute(&sql::INIT_SEALED_SETTING, &[Arg::Text(name), Arg::Text(value.text()), Arg::Int(value.version)]).await?;
    Ok(())
}

/// Rotates (with `previous_until`) or resets a secret; 0 when there is no
/// such merchant or the key version moved on.
pub(crate) async fn replace_secret<D: Db>(
    db: &mut D,
    key: &str,
    secret: &Sealed,
    previous_until: Option<i64>,
    now: i64,
) -> Result<u64, StoreError> {
    if unstorable(&[key]) {
        return Ok(0);
    }
    match previous_until {
        Some(until) => {
            let args =
                [Arg::Text(secret.text()), Arg::Text(key), Arg::Int(now), Arg::Int(until), Arg::Int(secret.version)];
            db.execute(&sql::ROTATE_SECRET, &args).await
        }
        None => {
            db.execute(&sql::RESET_SECRET, &[Arg::Text(secret.text()), Arg::Text(key), Arg::Int(secret.version)]).await
        }
    }
}

pub(crate) async fn promote_secret<D: Db>(db: &mut D, key: &str, now: i64) -> Result<bool, StoreError> {
    if unstorable(&[key]) {
        return Ok(false);
    }
    Ok(db.execute(&sql::PROMOTE_SECRET, &[Arg::Text(key), Arg::Int(now)]).await? == 1)
}

// ---- sandbox faults and sandbox merchants ----

pub(crate) async fn add_fault<D: Db>(
    db: &mut D,
    key: &str,
    rule: &vmp_protocol::faults::FaultRule,
    at: i64,
) -> Result<crate::faults::StoredFault, StoreError> {
    let json = rule.to_json();
    let remaining = match rule.trigger {
        vmp_protocol::faults::Trigger::Next(n) => Some(i64::from(n)),
        vmp_protocol::faults::Trigger::Percent(_) => None,
    };
    db.fetch_optional(&sql::ADD_FAULT, &rows::fault_args(key, &json, remaining, at), rows::fault)
        .await?
        .ok_or(StoreError::Corrupt("sandbox_faults insert returned no row"))
}

pub(crate) async fn faults<D: Db>(
    db: &mut D,
    key: Option<&str>,
) -> Result<Vec<crate::faults::StoredFault>, StoreError> {
    match key {
        Some(key) if unstorable(&[key]) => Ok(Vec::new()),
        Some(key) => db.fetch_all(&sql::FAULTS_OF_MERCHANT, &[Arg::Text(key)], rows::fault).await,
        None => db.fetch_all(&sql::ALL_FAULTS, &[], rows::fault).await,
    }
}

pub(crate) async fn clear_faults<D: Db>(db: &mut D, key: &str, id: Option<i64>) -> Result<u64, StoreError> {
    if unstorable(&[key]) {
        return Ok(0);
    }
    match id {
        Some(id) => db.execute(&sql::CLEAR_FAULT, &[Arg::Text(key), Arg::Int(id)]).await,
        None => db.execute(&sql::CLEAR_FAULTS, &[Arg::Text(key)]).await,
    }
}

/// Takes one firing of a counted rule: the count left, or `None` when it
/// was used up already. A rule used up by this call is deleted.
pub(crate) async fn consume_fault<D: Db>(db: &mut D, id: i64) -> Result<Option<i64>, StoreError> {
    let left = db.fetch_optional(&sql::CONSUME_FAULT, &[Arg::Int(id)], rows::remaining).await?;
    if left == Some(0) {
        db.execute(&sql::DELETE_USED_FAULT, &[Arg::Int(id)]).await?;
    }
    Ok(left)
}

pub(crate) async fn postpone_notification<D: Db>(db: &mut D, id: i64, until: i64) -> Result<(), StoreError> {
    db.execute(&sql::POSTPONE_NOTIFICATION, &[Arg::Int(until), Arg::Int(id)]).await?;
    Ok(())
}

// ---- the developer console ----

/// Writes queued journal records: one prepared statement per kind.
pub(crate) async fn journal<D: Db>(db: &mut D, entries: &[JournalEntry]) -> Result<(), StoreError> {
    let mut requests = Vec::new();
    let mut events = Vec::new();
    for e in entries {
        match e {
            JournalEntry::Request(r) => requests.push(rows::request_args(r)),
            JournalEntry::Event(ev) => events.push(rows::event_args(ev)),
        }
    }
    if !requests.is_empty() {
        db.execute_each(&sql::INSERT_REQUEST, &requests).await?;
    }
    if !events.is_empty() {
        db.execute_each(&sql::INSERT_EVENT, &events).await?;
    }
    Ok(())
}

/// A bounded scan of orders ([`OrderScan`]).
pub(crate) async fn scan_orders<D: Db>(db: &mut D, s: &OrderScan) -> Result<Scanned<Order, String>, StoreError> {
    let state = s.state.map(|st| st.as_str());
    let args = [
        Arg::Text(&s.below),
        Arg::Text(&s.floor),
        Arg::Int(s.budget),
        Arg::OptText(s.merchant.as_deref()),
        Arg::OptText(s.service.as_deref()),
        Arg::OptText(state),
        Arg::OptInt(s.from),
        Arg::OptInt(s.to),
        Arg::Int(s.limit),
    ];
    let final_state = s.state.filter(|st| st.is_final());
    let (items, edge) = match final_state {
        Some(st) => {
            let items = db.fetch_all(&sql::SCAN_FINAL_ORDERS, &args, rows::order).await?;
            let edge_args = [Arg::Text(&s.below), Arg::Text(&s.floor), Arg::Int(s.budget), Arg::Text(st.as_str())];
            (items, db.fetch_optional(&sql::SCAN_FINAL_ORDERS_EDGE, &edge_args, rows::scan_edge_text).await?)
        }
        None => {
            let items = db.fetch_all(&sql::SCAN_ORDERS, &args, rows::order).await?;
            let edge_args = [Arg::Text(&s.below), Arg::Text(&s.floor), Arg::Int(s.budget)];
            (items, db.fetch_optional(&sql::SCAN_ORDERS_EDGE, &edge_args, rows::scan_edge_text).await?)
        }
    };
    let (scanned, low) = edge.unwrap_or((0, None));
    Ok(Scanned { items, exhausted: scanned < s.budget, low })
}

pub(crate) async fn search_orders<D: Db>(db: &mut D, q: &str) -> Result<Vec<Order>, StoreError> {
    if unstorable(&[q]) {
        return Ok(Vec::new());
    }
    let mut found = db.fetch_all(&sql::ORDERS_BY_OUT_ANY_MERCHANT, &[Arg::Text(q)], rows::order).await?;
    if let Some(o) = order_by_eft(db, q).await?
        && !found.iter().any(|f| f.eft_trade_no == o.eft_trade_no)
    {
        found.insert(0, o);
    }
    Ok(found)
}

pub(crate) async fn order_key_range<D: Db>(db: &mut D) -> Result<Option<(String, String)>, StoreError> {
    Ok(db.fetch_optional(&sql::ORDER_KEY_RANGE, &[], rows::key_range).await?.flatten())
}

pub(crate) async fn refunds_of_order<D: Db>(db: &mut D, eft_trade_no: &str) -> Result<Vec<Refund>, StoreError> {
    if unstorable(&[eft_trade_no]) {
        return Ok(Vec::new());
    }
    db.fetch_all(&sql::REFUNDS_OF_ORDER, &[Arg::Text(eft_trade_no)], rows::refund).await
}

pub(crate) async fn events_of_order<D: Db>(db: &mut D, eft_trade_no: &str) -> Result<Vec<StoredEvent>, StoreError> {
    if unstorable(&[eft_trade_no]) {
        return Ok(Vec::new());
    }
    db.fetch_all(&sql::EVENTS_OF_ORDER, &[Arg::Text(eft_trade_no)], rows::stored_event).await
}

pub(crate) async fn requests_of_order<D: Db>(
    db: &mut D,
    merchant: &str,
    out_trade_no: &str,
) -> Result<Vec<LoggedRequest>, StoreError> {
    if unstorable(&[merchant, out_trade_no]) {
        return Ok(Vec::new());
    }
    db.fetch_all(&sql::REQUESTS_OF_ORDER, &[Arg::Text(merchant), Arg::Text(out_trade_no)], rows::logged_request).await
}

/// A bounded scan of the request log ([`RequestScan`]).
pub(crate) async fn scan_requests<D: Db>(
    db: &mut D,
    s: &RequestScan,
) -> Result<Scanned<LoggedRequest, i64>, StoreError> {
    if unstorable(&[
        s.merchant.as_deref().unwrap_or(""),
        s.service.as_deref().unwrap_or(""),
        s.endpoint.as_deref().unwrap_or(""),
    ]) {
        return Ok(Scanned { items: Vec::new(), exhausted: true, low: None });
    }
    let args = [
        Arg::Int(s.below),
        Arg::Int(s.budget),
        Arg::OptText(s.merchant.as_deref()),
        Arg::OptText(s.return_status.as_deref()),
        Arg::OptText(s.service.as_deref()),
        Arg::OptText(s.endpoint.as_deref()),
        Arg::Int(s.since_ms),
        Arg::Int(s.limit),
        Arg::Int(i64::from(s.refused_only)),
    ];
    let items = db.fetch_all(&sql::SCAN_REQUESTS, &args, rows::logged_request).await?;
    let edge = db
        .fetch_optional(&sql::SCAN_REQUESTS_EDGE, &[Arg::Int(s.below), Arg::Int(s.budget)], rows::scan_edge_int)
        .await?;
    let (scanned, low) = edge.unwrap_or((0, None));
    Ok(Scanned { items, exhausted: scanned < s.budget, low })
}

pub(crate) async fn requests_after<D: Db>(
    db: &mut D,
    after: i64,
    merchant: Option<&str>,
    limit: i64,
) -> Result<Vec<LoggedRequest>, StoreError> {
    if unstorable(&[merchant.unwrap_or("")]) {
        return Ok(Vec::new());
    }
    db.fetch_all(
        &sql::REQUESTS_AFTER,
        &[Arg::Int(after), Arg::Int(limit), Arg::OptText(merchant)],
        rows::logged_request,
    )
    .await
}

pub(crate) async fn orders_after<D: Db>(
    db: &mut D,
    after: &str,
    since: i64,
    merchant: Option<&str>,
    limit: i64,
) -> Result<Vec<Order>, StoreError> {
    if unstorable(&[after, merchant.unwrap_or("")]) {
        return Ok(Vec::new());
    }
    let args = [Arg::Text(after), Arg::Int(since), Arg::Int(limit), Arg::OptText(merchant)];
    db.fetch_all(&sql::ORDERS_AFTER, &args, rows::order).await
}

pub(crate) async fn logged_request<D: Db>(db: &mut D, id: i64) -> Result<Option<LoggedRequest>, StoreError> {
    db.fetch_optional(&sql::REQUEST_BY_ID, &[Arg::Int(id)], rows::logged_request).await
}

pub(crate) async fn last_request_id<D: Db>(db: &mut D) -> Result<Option<i64>, StoreError> {
    Ok(db.fetch_optional(&sql::LAST_REQUEST_ID, &[], rows::low).await?.flatten())
}

pub(crate) async fn list_notifications<D: Db>(
    db: &mut D,
    q: &NotificationQuery,
) -> Result<Vec<ListedNotification>, StoreError> {
    if unstorable(&[q.merchant.as_deref().unwrap_or(""), q.eft_trade_no.as_deref().unwrap_or("")]) {
        return Ok(Vec::new());
    }
    let (merchant, eft) = (Arg::OptText(q.merchant.as_deref()), Arg::OptText(q.eft_trade_no.as_deref()));
    match q.status {
        None => {
            db.fetch_all(
                &sql::LIST_NOTIFICATIONS,
                &[Arg::Int(q.below.1), merchant, eft, Arg::Int(q.limit)],
                rows::listed_notification,
            )
            .await
        }
        Some(OutboxStatus::Pending) => {
            let args = [Arg::Int(q.below.0), merchant, eft, Arg::Int(q.limit), Arg::Int(q.below.1)];
            db.fetch_all(&sql::LIST_OWED_NOTIFICATIONS, &args, rows::listed_notification).await
        }
        Some(done) => {
            let args = [Arg::Int(q.below.1), merchant, eft, Arg::Int(q.limit), Arg::Text(done.as_str())];
            db.fetch_all(&sql::LIST_DONE_NOTIFICATIONS, &args, rows::listed_notification).await
        }
    }
}

pub(crate) async fn notification_by_id<D: Db>(db: &mut D, id: i64) -> Result<Option<ListedNotification>, StoreError> {
    db.fetch_optional(&sql::NOTIFICATION_BY_ID, &[Arg::Int(id)], rows::listed_notification).await
}

pub(crate) async fn deliver_now<D: Db>(db: &mut D, id: i64, now: i64) -> Result<bool, StoreError> {
    Ok(db.execute(&sql::DELIVER_NOW, &[Arg::Int(now), Arg::Int(id)]).await? == 1)
}

pub(crate) async fn resend<D: Db>(db: &mut D, id: i64, now: i64) -> Result<Option<i64>, StoreError> {
    Ok(db.fetch_optional(&sql::RESEND, &[Arg::Int(now), Arg::Int(id)], rows::low).await?.flatten())
}

/// Deletes up to `limit` request records and `limit` events older than
/// `before_ms` (the oldest first); how many went.
pub(crate) async fn prune_journal<D: Db>(db: &mut D, before_ms: i64, limit: i64) -> Result<u64, StoreError> {
    let mut removed = 0;
    for (first_kept, last, prune) in [
        (&sql::FIRST_REQUEST_KEPT, &sql::LAST_REQUEST_ID, &sql::PRUNE_REQUESTS),
        (&sql::FIRST_EVENT_KEPT, &sql::LAST_EVENT_ID, &sql::PRUNE_EVENTS),
    ] {
        // Ids grow with time: everything below the first record to keep goes.
        let keep_from = match db.fetch_optional(first_kept, &[Arg::Int(before_ms)], rows::low).await?.flatten() {
            Some(id) => id,
            None => match db.fetch_optional(last, &[], rows::low).await?.flatten() {
                Some(max) => max + 1,
                None => continue,
            },
        };
        removed += db.execute(prune, &[Arg::Int(keep_from), Arg::Int(limit)]).await?;
    }
    Ok(removed)
}

/// Deletes a merchant's orders and everything about them; how many orders went.
pub(crate) async fn reset_merchant<D: Db>(db: &mut D, key: &str) -> Result<u64, StoreError> {
    if unstorable(&[key]) {
        return Ok(0);
    }
    let mut orders = 0;
    for (i, statement) in sql::RESET_MERCHANT.iter().enumerate() {
        let n = db.execute(statement, &[Arg::Text(key)]).await?;
        if i == 4 {
            orders = n;
        }
    }
    Ok(orders)
}

pub(crate) async fn set_merchant_secret<D: Db>(db: &mut D, key: &str, secret: &str) -> Result<bool, StoreError> {
    if unstorable(&[key]) {
        return Ok(false);
    }
    Ok(db.execute(&sql::SET_MERCHANT_SECRET, &[Arg::Text(secret), Arg::Text(key)]).await? == 1)
}
