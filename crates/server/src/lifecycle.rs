//! The order state machine at work: a buyer's action, a merchant's close
//! and the expiry sweep, each a domain transition ([`crate::domain::Order`])
//! that the store applies durably, idempotently and race-free (only to a
//! still-pending order, in the writer's transaction, together with the
//! notification it owes).

use time::OffsetDateTime;

use crate::connector::WalletResult;
use crate::domain::{Order, SaleOutcome, Transition};
use crate::state::AppState;
use crate::store::{SettleOutcome, StoreError};

pub use crate::connector::BuyerAction;

/// The result of a buyer action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ActionResult {
    /// The order reached this final state now.
    Settled(Order),
    /// The order was already final; nothing changed.
    AlreadyFinal(Order),
    /// The order had expired; it is now (or already was) closed.
    Expired(Order),
    /// Magic amount `.45`: the wallet reports a server error and no state.
    ServerErrorNoState,
    /// A cashier order whose buyer has chosen no wallet yet: it can be
    /// cancelled, not paid (nor fail).
    WalletNotChosen,
}

impl ActionResult {
    /// In a few words, for the order's timeline (`settled TRADE_SUCCESS`, …).
    pub fn describe(&self) -> String {
        match self {
            ActionResult::Settled(o) => format!("settled {}", o.state.wire_str()),
            ActionResult::AlreadyFinal(o) => format!("already final ({})", o.state.wire_str()),
            ActionResult::Expired(o) => format!("expired ({})", o.state.wire_str()),
            ActionResult::ServerErrorNoState => "wallet server error, no state (sandbox amount .45)".to_owned(),
            ActionResult::WalletNotChosen => "refused: the cashier order has no wallet yet".to_owned(),
        }
    }
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
    order: &Order,
    action: BuyerAction,
    card_scheme: Option<String>,
) -> Result<ActionResult, LifecycleError> {
    let now = state.clock().now();
    if order.state.is_final() {
        return Ok(ActionResult::AlreadyFinal(order.clone()));
    }
    if order.is_expired(now.unix_timestamp()) {
        let closed = match apply(state, order, order.expire(now, state.wallets().transaction_id(order))).await? {
            SettleOutcome::Applied(o) | SettleOutcome::AlreadyFinal(o) => o,
            SettleOutcome::NotFound => return Err(LifecycleError::NotFound),
        };
        return Ok(ActionResult::Expired(closed));
    }
    if order.wallet.is_none() && action != BuyerAction::Cancel {
        return Ok(ActionResult::WalletNotChosen);
    }
    let outcome = match state.wallets().act(order, action) {
        WalletResult::Paid => SaleOutcome::Paid,
        WalletResult::Failed => SaleOutcome::Failed,
        WalletResult::Closed => SaleOutcome::Closed,
        WalletResult::NoState => return Ok(ActionResult::ServerErrorNoState),
    };
    let transition = order.settle(outcome, now, state.wallets().transaction_id(order), card_scheme);
    match apply(state, order, transition).await? {
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
pub async fn close_unpaid(state: &AppState, order: &Order) -> Result<SettleOutcome, StoreError> {
    let now = state.clock().now();
    apply(state, order, order.close(now, state.wallets().transaction_id(order))).await
}

/// Closes an expired order (the sweeper's step), notified as its service
/// says. `true` if this call closed it.
///
/// # Errors
/// When the store fails.
pub async fn expire(state: &AppState, order: &Order, now: OffsetDateTime) -> Result<bool, StoreError> {
    let transition = order.expire(now, state.wallets().transaction_id(order));
    Ok(matches!(apply(state, order, transition).await?, SettleOutcome::Applied(_)))
}

/// Stores a transition; one the domain refused (the order we hold is final
/// already) is answered with the stored order, as the store would.
async fn apply(
    state: &AppState,
    order: &Order,
    transition: Result<Transition, crate::domain::AlreadyFinal>,
) -> Result<SettleOutcome, StoreError> {
    let Ok(transition) = transition else {
        return Ok(match state.store().order_by_eft_trade_no(order.eft_trade_no.as_str()).await? {
            Some(o) => SettleOutcome::AlreadyFinal(o),
            None => SettleOutcome::NotFound,
        });
    };
    let (eft_trade_no, to, owes) =
        (transition.eft_trade_no.clone(), transition.state, transition.notification.is_some());
    let outcome = state.store().settle(transition).await?;
    if matches!(outcome, SettleOutcome::Applied(_)) {
        tracing::info!(%eft_trade_no, trade_status = to.as_str(), "order settled");
        if owes {
            state.wake_notifier();
        }
    }
    Ok(outcome)
}
