//! After the sale: Query, Refund, RefundStatusQuery and Close, as domain
//! operations. Each takes an authenticated merchant and the request's
//! parameters and returns the answer's business fields.

use time::OffsetDateTime;
use vmp_protocol::Params;
use vmp_protocol::notify::TradeType;
use vmp_protocol::ops::{CloseRequest, QueryRequest, RefundRequest, RefundService, RefundStatusRequest, TradeRef};
use vmp_protocol::vmptime::{VmpTime, format_time};

use crate::config::Mode;
use crate::domain::{NewRefund, Order, OrderState};
use crate::error::ApiError;
use crate::lifecycle;
use crate::merchant::Merchant;
use crate::netguard;
use crate::orders::request_fingerprint;
use crate::state::AppState;
use crate::store::{RefundOutcome, SettleOutcome, StoreError};

/// How long the sandbox takes to complete an apply-refund.
pub const APPLY_REFUND_DELAY_SECONDS: i64 = 5;

fn gmt(at: i64) -> String {
    OffsetDateTime::from_unix_timestamp(at).map(|t| VmpTime::from_datetime(t).to_gmt_string()).unwrap_or_default()
}

fn minor_text(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

/// Finds the merchant's order; an order of another merchant does not exist.
async fn find_order(state: &AppState, merchant: &Merchant, trade: &TradeRef) -> Result<Option<Order>, StoreError> {
    let order = match trade {
        TradeRef::Eft(eft) => state.store().order_by_eft_trade_no(eft).await?,
        TradeRef::Out(out) => state.store().order_by_out_trade_no(&merchant.key, out.as_str()).await?,
    };
    Ok(order.filter(|o| o.user_confirm_key.as_str() == merchant.key))
}

/// `QRcodeTradeQuery.do` and `service.common.Query`.
///
/// # Errors
/// `-13` for bad fields, `05` when the order or refund does not exist.
pub async fn query(state: &AppState, merchant: &Merchant, params: &Params) -> Result<Params, ApiError> {
    let req = QueryRequest::try_from(params)?;
    let order = find_order(state, merchant, &req.trade).await?.ok_or(ApiError::TradeNotExist)?;
    // An expired unpaid order is reported closed; the sweeper writes that.
    let now = state.clock().now().unix_timestamp();
    let mut out = Params::new()
        .with("user_confirm_key", order.user_confirm_key.as_str())
        .with("out_trade_no", order.out_trade_no.as_str())
        .with("eft_trade_no", order.eft_trade_no.as_str());
    match &req.refund_no {
        Some(refund_no) => {
            let refund = state
                .store()
                .refund_by_out_refund_no(&merchant.key, refund_no)
                .await?
                .filter(|r| r.eft_trade_no == order.eft_trade_no)
                .ok_or(ApiError::RefundNotExist)?;
            out.set("refund_no", &refund.out_refund_no)
                .set("trade_status", refund.trade_status_str())
                .set("trade_type", TradeType::Refund.as_str())
                .set("trade_time", gmt(refund.completed_at.unwrap_or(refund.created_at)))
                .set("transaction_amount", &refund.amount_text)
                .set("original_amount", &order.amount_text);
        }
        None => {
            out.set("trade_status", order.effective_state(now).wire_str())
                .set("trade_type", TradeType::Sale.as_str())
                .set("trade_time", gmt(order.effective_final_at(now).unwrap_or(order.created_at)))
                .set("transaction_amount", &order.amount_text);
            if order.refunded_minor > 0 {
                out.set("refund_amount", minor_text(order.refunded_minor));
            }
        }
    }
    out.set("currency", order.currency.code())
        .set("payType", order.pay_type.as_str())
        .set("wallet", order.wallet.as_str());
    for (k, v) in [("tid", &order.tid), ("transaction_id", &order.transaction_id), ("card_scheme", &order.card_scheme)]
    {
        if let Some(v) = v {
            out.set(k, v);
        }
    }
    Ok(out)
}

/// `service.unified.RefundStatusQuery`.
///
/// # Errors
/// `-13` for bad fields, `05` when the order or refund does not exist.
pub async fn refund_status(state: &AppState, merchant: &Merchant, params: &Params) -> Result<Params, ApiError> {
    let req = RefundStatusRequest::try_from(params)?;
    let order = find_order(state, merchant, &req.trade).await?.ok_or(ApiError::TradeNotExist)?;
    let refund = state
        .store()
        .refund_by_out_refund_no(&merchant.key, &req.refund_no)
        .await?
        .filter(|r| r.eft_trade_no == order.eft_trade_no)
        .ok_or(ApiError::RefundNotExist)?;
    Ok(Params::new()
        .with("user_confirm_key", order.user_confirm_key.as_str())
        .with("out_trade_no", order.out_trade_no.as_str())
        .with("eft_trade_no", order.eft_trade_no.as_str())
        .with("refund_no", &refund.out_refund_no)
        .with("refund_status", refund.state.as_str())
        .with("trade_type", TradeType::Refund.as_str())
        .with("trade_status", refund.trade_status_str())
        .with("transaction_amount", &refund.amount_text)
        .with("original_amount", &order.amount_text)
        .with("currency", order.currency.code())
        .with("wallet", order.wallet.as_str()))
}

/// A refund on one of the refund services.
///
/// # Errors
/// `-13`/`09` for bad fields, `31` unknown order, `-16`/`20` wallet or payType
/// not the order's, `16` not paid, `15` closed, `18` over the order amount,
/// `14` `out_refund_no` reused by a different refund.
pub async fn refund(
    state: &AppState,
    merchant: &Merchant,
    service: &'static RefundService,
    params: &Params,
) -> Result<Params, ApiError> {
    let req = RefundRequest::parse(service, params)?;
    // The same guard as Place an Order's: checked when the refund is asked
    // for, not found out at delivery.
    if let (true, Mode::Production, Some(url)) = (service.apply, state.mode(), &req.notify_url) {
        netguard::check_url(url.url(), &merchant.allowed_ports).map_err(|e| ApiError::UrlRefused("notify_url", e))?;
    }
    let order = find_order(state, merchant, &req.trade).await?.ok_or(ApiError::RefundOrderNotExist)?;
    let wallet = order.wallet.as_str();
    if !service.wallets.is_empty() && !service.wallets.contains(&wallet) {
        return Err(ApiError::WalletMismatch(wallet.to_owned()));
    }
    if req.wallet.as_deref().is_some_and(|w| w != wallet) {
        return Err(ApiError::WalletMismatch(wallet.to_owned()));
    }
    if req.pay_type.as_deref().is_some_and(|p| p != order.pay_type.as_str()) {
        return Err(ApiError::PayTypeMismatch(order.pay_type.as_str().to_owned()));
    }
    if req.total_fee.is_some_and(|t| t != order.amount) {
        return Err(ApiError::TotalFeeMismatch(order.amount.to_decimal_string()));
    }
    let now = state.clock().now().unix_timestamp();
    let fingerprint = request_fingerprint(params);
    let new = NewRefund {
        eft_trade_no: order.eft_trade_no.clone(),
        user_confirm_key: order.user_confirm_key.clone(),
        out_refund_no: req.out_refund_no.clone(),
        fingerprint: fingerprint.clone(),
        service: vmp_protocol::Service::from_name(service.name)
            .ok_or(ApiError::Store(StoreError::Corrupt("refund service")))?,
        amount: req.amount,
        amount_text: req.amount_text.clone(),
        reason: req.reason.clone(),
        complete_after: service.apply.then_some(now + APPLY_REFUND_DELAY_SECONDS),
        notify_url: if service.apply {
            req.notify_url.as_ref().map(|u| u.as_str().to_owned()).or(order.notify_url.clone())
        } else {
            None
        },
        at: now,
    };
    let (refund, order) = match state.store().refund(new).await? {
        RefundOutcome::Applied(r, o) => {
            tracing::info!(eft_trade_no = %o.eft_trade_no, out_refund_no = %r.out_refund_no, amount = %r.amount_text, "refund applied");
            if service.apply {
                state.wake_sweeper();
            }
            (r, o)
        }
        RefundOutcome::Existing(r, o) if r.fingerprint == fingerprint => (r, o),
        RefundOutcome::Existing(..) => return Err(ApiError::DuplicateRefund),
        RefundOutcome::NotPaid(_) => return Err(ApiError::NotPaid),
        RefundOutcome::Closed(_) => return Err(ApiError::TradeClosed),
        RefundOutcome::Exceeds(o) => {
            return Err(ApiError::RefundExceeds(minor_text(o.refundable_minor())));
        }
        RefundOutcome::NotFound => return Err(ApiError::RefundOrderNotExist),
    };
    let refund_time = OffsetDateTime::from_unix_timestamp(refund.created_at).map(format_time).unwrap_or_default();
    let mut out = Params::new()
        .with("user_confirm_key", order.user_confirm_key.as_str())
        .with("out_trade_no", order.out_trade_no.as_str())
        .with("out_refund_no", &refund.out_refund_no)
        .with("eft_trade_no", order.eft_trade_no.as_str())
        .with("trade_status", refund.trade_status_str())
        .with("refund_time", refund_time)
        .with("payType", order.pay_type.as_str());
    if let Some(b) = &req.buyer_type {
        out.set("buyerType", b.as_str());
    }
    out.set("wallet", order.wallet.as_str())
        .set("fee_type", order.currency.code())
        .set("return_amount", &refund.amount_text)
        .set("total_fee", &order.amount_text);
    Ok(out)
}

/// Close an unpaid order: it becomes `TRADE_CLOSED` and can no longer be paid.
///
/// # Errors
/// `05` unknown order, `-16` wallet not the order's, `54` already paid.
pub async fn close(
    state: &AppState,
    merchant: &Merchant,
    wallets: &'static [&'static str],
    params: &Params,
) -> Result<Params, ApiError> {
    let req = CloseRequest::parse(wallets, params)?;
    let order = find_order(state, merchant, &req.trade).await?.ok_or(ApiError::TradeNotExist)?;
    let wallet = order.wallet.as_str();
    if (!wallets.is_empty() && !wallets.contains(&wallet)) || req.wallet.as_deref().is_some_and(|w| w != wallet) {
        return Err(ApiError::WalletMismatch(wallet.to_owned()));
    }
    let order = match lifecycle::close_unpaid(state, &order).await? {
        SettleOutcome::Applied(o) => o,
        SettleOutcome::AlreadyFinal(o)
            if matches!(o.state, OrderState::Paid | OrderState::PartlyRefunded) || o.refunded_minor > 0 =>
        {
            return Err(ApiError::CloseFailedPaid);
        }
        SettleOutcome::AlreadyFinal(o) => o,
        SettleOutcome::NotFound => return Err(ApiError::TradeNotExist),
    };
    let mut out = Params::new()
        .with("user_confirm_key", order.user_confirm_key.as_str())
        .with("out_trade_no", order.out_trade_no.as_str())
        .with("eft_trade_no", order.eft_trade_no.as_str())
        .with("trade_status", order.state.wire_str())
        .with("trade_type", TradeType::Sale.as_str())
        .with("wallet", order.wallet.as_str());
    if let Some(tid) = &order.tid {
        out.set("tid", tid);
    }
    Ok(out)
}
