//! The order state machine: `PENDING` → `TRADE_SUCCESS` | `TRADE_FAIL` |
//! `TRADE_CLOSED`, each transition durable, idempotent and race-free (the
//! store applies it only to a still-pending order, in the writer's
//! transaction, together with the notification it owes).

use time::OffsetDateTime;
use vmp_protocol::Amount;
use vmp_protocol::notify::{TradeNotification, TradeStatus, TradeType};
use vmp_protocol::vmptime::VmpTime;

use crate::connector::WalletResult;
use crate::orders::STATE_PENDING;
use crate::state::AppState;
use crate::store::{NewNotification, OrderRecord, SettleOutcome, Settlement, StoreError};

/// Wire value of a paid order.
pub const TRADE_SUCCESS: &str = "TRADE_SUCCESS";
/// Wire value of a failed payment.
pub const TRADE_FAIL: &str = "TRADE_FAIL";
/// Wire value of an order closed unpaid (expired, cancelled, timed out).
pub const TRADE_CLOSED: &str = "TRADE_CLOSED";

pub use crate::connector::BuyerAction;

/// The result of a buyer action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionResult {
    /// The order reached this final state now.
    Settled(OrderRecord),
    /// The order was already final; nothing changed.
    AlreadyFinal(OrderRecord),
    /// The order had expired; it is now (or already was) closed.
    Expired(OrderRecord),
    /// Magic amount `.45`: the wallet reports a server error and no state.
    ServerErrorNoState,
}

/// Lifecycle failures.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    /// No such order.
    #[error("order not found")]
    NotFound,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Applies a buyer action to an order, honouring the sandbox magic amounts.
///
/// # Errors
/// [`LifecycleError`] when the order is missing or the store fails.
pub async fn buyer_action(
    state: &AppState,
    order: &OrderRecord,
    action: BuyerAction,
    card_scheme: Option<String>,
) -> Result<ActionResult, LifecycleError> {
    let now = state.clock().now();
    if order.state != STATE_PENDING {
        return Ok(ActionResult::AlreadyFinal(order.clone()));
    }
    if now.unix_timestamp() >= order.expires_at {
        let closed = match settle(state, order, TRADE_CLOSED, None, now).await? {
            SettleOutcome::Applied(o) | SettleOutcome::AlreadyFinal(o) => o,
            SettleOutcome::NotFound => return Err(LifecycleError::NotFound),
        };
        return Ok(ActionResult::Expired(closed));
    }
    let target = match state.wallets().act(order, action) {
        WalletResult::Paid => TRADE_SUCCESS,
        WalletResult::Failed => TRADE_FAIL,
        WalletResult::Closed => TRADE_CLOSED,
        WalletResult::NoState => return Ok(ActionResult::ServerErrorNoState),
    };
    let card_scheme = if target == TRADE_SUCCESS { card_scheme } else { None };
    match settle(state, order, target, card_scheme, now).await? {
        SettleOutcome::Applied(o) => Ok(ActionResult::Settled(o)),
        SettleOutcome::AlreadyFinal(o) => Ok(ActionResult::AlreadyFinal(o)),
        SettleOutcome::NotFound => Err(LifecycleError::NotFound),
    }
}

/// Closes a pending order at the merchant's request (no notification: the
/// merchant asked). A no-op on final orders.
///
/// # Errors
/// When the store fails.
pub async fn close_unpaid(state: &AppState, order: &OrderRecord) -> Result<SettleOutcome, StoreError> {
    let now = state.clock().now();
    let mut copy = order.clone();
    copy.notify_url = None;
    settle(state, &copy, TRADE_CLOSED, None, now).await
}

/// Closes every pending order whose `active_time` has run out. Returns how
/// many were closed by this call.
///
/// # Errors
/// When the store fails.
pub async fn expire_due(state: &AppState) -> Result<usize, StoreError> {
    let now = state.clock().now();
    let due = state.store().expired_pending(now.unix_timestamp(), 200).await?;
    let mut closed = 0;
    for order in &due {
        if matches!(settle(state, order, TRADE_CLOSED, None, now).await?, SettleOutcome::Applied(_)) {
            tracing::info!(eft_trade_no = %order.eft_trade_no, "unpaid order expired");
            closed += 1;
        }
    }
    Ok(closed)
}

async fn settle(
    state: &AppState,
    order: &OrderRecord,
    target: &str,
    card_scheme: Option<String>,
    now: OffsetDateTime,
) -> Result<SettleOutcome, StoreError> {
    let transaction_id = state.wallets().transaction_id(order);
    let mut final_order = order.clone();
    final_order.state = target.to_owned();
    final_order.final_at = Some(now.unix_timestamp());
    final_order.transaction_id = Some(transaction_id.clone());
    final_order.card_scheme = card_scheme.clone();
    let notification = match &order.notify_url {
        Some(url) => {
            let mut payload = trade_notification(&final_order, now)?.to_params();
            // `time` is stamped (and the message signed) at each attempt.
            payload.remove("time");
            Some(NewNotification {
                url: url.clone(),
                trade_status: target.to_owned(),
                payload: payload.to_json(),
                due_at: now.unix_timestamp(),
            })
        }
        None => None,
    };
    let outcome = state
        .store()
        .settle(Settlement {
            eft_trade_no: order.eft_trade_no.clone(),
            state: target.to_owned(),
            at: now.unix_timestamp(),
            transaction_id,
            card_scheme,
            notification,
        })
        .await?;
    if matches!(outcome, SettleOutcome::Applied(_)) {
        tracing::info!(eft_trade_no = %order.eft_trade_no, trade_status = target, "order settled");
        state.wake_notifier();
    }
    Ok(outcome)
}

/// The `trade_status_sync` message for a final order, as of `now`.
///
/// # Errors
/// [`StoreError::Corrupt`] if the stored amount is not positive.
pub fn trade_notification(o: &OrderRecord, now: OffsetDateTime) -> Result<TradeNotification, StoreError> {
    let amount = Amount::from_minor(o.amount_minor).map_err(|_| StoreError::Corrupt("orders.amount_minor"))?;
    let final_at = o.final_at.and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok()).unwrap_or(now);
    let transaction_id = o.transaction_id.clone().unwrap_or_else(|| format!("SBX{}", o.eft_trade_no));
    Ok(TradeNotification {
        user_confirm_key: o.user_confirm_key.clone(),
        trade_no: transaction_id.clone(),
        transaction_id,
        out_trade_no: o.out_trade_no.clone(),
        eft_trade_no: o.eft_trade_no.clone(),
        eftpay_trade_no: o.eft_trade_no.clone(),
        total_fee: o.amount_text.clone(),
        amount,
        currency: o.currency.clone(),
        trade_status: TradeStatus::parse(&o.state),
        gmt_payment: VmpTime::from_datetime(final_at).to_gmt_string(),
        wallet: o.wallet.clone(),
        tid: o.tid.clone(),
        trade_type: TradeType::Sale,
        card_scheme: o.card_scheme.clone(),
        time: VmpTime::from_datetime(now),
    })
}
