//! The cashier scene (`service.united.wap.PreOrder`) as domain operations:
//! the sale, stored without a wallet, and the buyer's choice of one on the
//! hosted cashier page (docs/protocol.md "The cashier scene"). Refunds,
//! queries and closes are the web scene's: they read the wallet the buyer
//! chose.

use vmp_protocol::Wallet;
use vmp_protocol::answer::OrderPlaced;
use vmp_protocol::fields::{Body, HttpUrl, Tid};
use vmp_protocol::request::CashierOrder;
use vmp_protocol::vmptime::VmpTime;

use super::{Sale, pending_order};
use crate::domain::{ChoiceRefusal, Order};
use crate::error::ApiError;
use crate::merchant::Merchant;
use crate::orders::{answer_for, check_urls, store};
use crate::state::AppState;
use crate::store::{ChoiceOutcome, StoreError};

/// Stores a cashier sale, without a wallet, and answers `pay_apptrade`:
/// the hosted cashier page. Idempotent like Place an Order. The sandbox
/// amount `.44` ("no QR code") does not apply: no wallet is asked before
/// the buyer chooses one.
///
/// # Errors
/// `-13` for a production URL rule, `03` for a reused `out_trade_no`, `-1`
/// when the store fails.
pub async fn place(
    state: &AppState,
    merchant: &Merchant,
    req: CashierOrder,
    fingerprint: String,
    sent_at: VmpTime,
) -> Result<OrderPlaced, ApiError> {
    check_urls(state, merchant, [("notify_url", req.notify_url.as_ref()), ("return_url", req.return_url.as_ref())])?;
    let sale = Sale {
        service: CashierOrder::SERVICE,
        out_trade_no: req.out_trade_no,
        amount: req.amount,
        currency: req.currency,
        subject: req.subject.into_string(),
        active_time: req.active_time,
    };
    let record = Order {
        pay_scene: Some(req.pay_scene),
        buyer_type: req.buyer_type.into_string(),
        body: req.body.map(Body::into_string),
        tid: req.tid.map(Tid::into_string),
        notify_url: req.notify_url.map(HttpUrl::into_string),
        return_url: req.return_url.map(HttpUrl::into_string),
        ..pending_order(state, merchant, sale, fingerprint, sent_at)?
    };
    answer_for(state, store(state, record).await?)
}

/// The buyer of `order` chose `wallet` on the cashier page: recorded once,
/// while the order is pending. Returns the order as it is now (with the
/// wallet, or unchanged when it was final or chosen already).
///
/// # Errors
/// [`ChoiceRefusal::NotCashier`] and [`ChoiceRefusal::NotOffered`] (the
/// page's form was not the cashier's); [`StoreError`] when the store fails.
pub async fn choose(
    state: &AppState,
    order: &Order,
    wallet: Wallet,
) -> Result<Result<Order, ChoiceRefusal>, StoreError> {
    let now = state.clock().now().unix_timestamp();
    let choice = match order.choose(wallet, now) {
        Ok(c) => c,
        Err(ChoiceRefusal::Chosen | ChoiceRefusal::Final) => return Ok(Ok(order.clone())),
        Err(refusal) => return Ok(Err(refusal)),
    };
    Ok(Ok(match state.store().choose_wallet(choice).await? {
        ChoiceOutcome::Chosen(o) => {
            tracing::info!(eft_trade_no = %o.eft_trade_no, wallet = o.wallet_str(), "cashier wallet chosen");
            o
        }
        ChoiceOutcome::Unchanged(o) => o,
        ChoiceOutcome::NotFound => order.clone(),
    }))
}
