//! The app scene's operations (docs/protocol.md "The app scene"): the sale
//! is Place an Order's (its fields, its record), answered with the
//! `payPackage` the wallet's mobile SDK takes; refunds are the gateway's
//! camelCase refunds; the notification is the web set plus `rate`.

use time::OffsetDateTime;
use vmp_protocol::Params;
use vmp_protocol::answer::AppOrderPlaced;
use vmp_protocol::fields::EftTradeNo as WireEftTradeNo;
use vmp_protocol::request::AppOrder;
use vmp_protocol::vmptime::VmpTime;

use crate::domain::Order;
use crate::error::ApiError;
use crate::merchant::Merchant;
use crate::orders::{self, check_urls};
use crate::state::AppState;
use crate::store::StoreError;

/// Stores an app sale and answers it with its `payPackage`; an identical
/// re-submission gets the first answer again, any other reuse of the
/// `out_trade_no` is `03`.
///
/// # Errors
/// As [`orders::place_order`].
pub async fn place_order(
    state: &AppState,
    merchant: &Merchant,
    req: AppOrder,
    fingerprint: String,
    sent_at: VmpTime,
) -> Result<AppOrderPlaced, ApiError> {
    let order = req.order;
    check_urls(
        state,
        merchant,
        [("notify_url", order.notify_url.as_ref()), ("return_url", order.return_url.as_ref())],
    )?;
    let record = orders::record(state, merchant, order, fingerprint, sent_at)?;
    answer_for(state, &orders::store(state, record).await?)
}

/// The answer of a stored app order (deterministic, so replays match).
///
/// # Errors
/// [`ApiError::Store`] when the stored number is not an `eft_trade_no`.
pub fn answer_for(state: &AppState, o: &Order) -> Result<AppOrderPlaced, ApiError> {
    Ok(AppOrderPlaced {
        eft_trade_no: WireEftTradeNo::parse(o.eft_trade_no.as_str())
            .map_err(|_| StoreError::Corrupt("orders.eft_trade_no"))?,
        out_trade_no: o.out_trade_no.clone(),
        pay_type: o.pay_type.map_or("", vmp_protocol::PayType::as_str).to_owned(),
        wallet: o.wallet.map_or("", vmp_protocol::Wallet::as_str).to_owned(),
        transaction_amount: o.amount_text.clone(),
        user_confirm_key: o.user_confirm_key.as_str().to_owned(),
        pay_package: super::packages::issue(state.links(), o),
    })
}

/// The web set of a sale's notification plus `rate` (as of `now`).
pub fn notification(order: &Order, now: OffsetDateTime) -> Params {
    let mut p = order.trade_notification(now).to_params();
    // Before `time`, which is stamped last at each attempt.
    let time = p.remove("time");
    p.set("rate", super::jsapi::RATE);
    if let Some(t) = time {
        p.set("time", t.as_str());
    }
    p
}
