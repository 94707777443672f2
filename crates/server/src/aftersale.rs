//! After the sale: Query, Refund, RefundStatusQuery and Close, as domain
//! operations. Each takes an authenticated merchant and the request's
//! parameters and returns the answer's business fields.

use time::OffsetDateTime;
use vmp_protocol::Params;
use vmp_protocol::notify::{TradeStatus, TradeType};
use vmp_protocol::ops::{CloseRequest, QueryRequest, RefundRequest, RefundService, RefundStatusRequest, TradeRef};
use vmp_protocol::vmptime::{VmpTime, format_time};

use crate::config::Mode;
use crate::error::ApiError;
use crate::lifecycle::{self, TRADE_SUCCESS};
use crate::merchant::Merchant;
use crate::netguard;
use crate::orders::{STATE_PENDING, request_fingerprint};
use crate::state::AppState;
use crate::store::{NewNotification, NewRefund, OrderRecord, RefundOutcome, RefundRecord, SettleOutcome, StoreError};

/// Wire `trade_status` of an order nobody has paid yet.
pub const TRADE_PROCESSING: &str = "TRADE_PROCESSING";
/// Wire `trade_status` of an apply-refund that is not complete.
pub const APPLY_SUCCESS: &str = "APPLY_SUCCESS";
/// How long the sandbox takes to complete an apply-refund.
pub const APPLY_REFUND_DELAY_SECONDS: i64 = 5;

fn gmt(at: i64) -> String {
    OffsetDateTime::from_unix_timestamp(at).map(|t| VmpTime::from_datetime(t).to_gmt_string()).unwrap_or_default()
}

fn minor_text(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

/// Finds the merchant's order; an order of another merchant does not exist.
async fn find_order(
    state: &AppState,
    merchant: &Merchant,
    trade: &TradeRef,
) -> Result<Option<OrderRecord>, StoreError> {
    let order = match trade {
        TradeRef::Eft(eft) => state.store().order_by_eft_trade_no(eft).await?,
        TradeRef::Out(out) => state.store().order_by_out_trade_no(&merchant.key, out.as_str()).await?,
    };
    Ok(order.filter(|o| o.user_confirm_key == merchant.key))
}

/// A pending order past its `active_time` is closed on sight, so a query
/// never reports an expired order as payable.
async fn with_expiry(state: &AppState, order: OrderRecord) -> Result<OrderRecord, ApiError> {
    if order.state == STATE_PENDING && state.clock().now().unix_timestamp() >= order.expires_at {
        lifecycle::expire_due(state).await?;
        if let Some(o) = state.store().order_by_eft_trade_no(&order.eft_trade_no).await? {
            return Ok(o);
        }
    }
    Ok(order)
}

fn wire_status(order: &OrderRecord) -> &str {
    if order.state == STATE_PENDING { TRADE_PROCESSING } else { &order.state }
}

fn refund_wire_status(r: &RefundRecord) -> &str {
    if r.status == "PROCESSING" { APPLY_SUCCESS } else { &r.trade_status }
}

/// `QRcodeTradeQuery.do` and `service.common.Query`.
///
/// # Errors
/// `-13` for bad fields, `05` when the order or refund does not exist.
pub async fn query(state: &AppState, merchant: &Merchant, params: &Params) -> Result<Params, ApiError> {
    let req = QueryRequest::try_from(params)?;
    let order = find_order(state, merchant, &req.trade).await?.ok_or(ApiError::TradeNotExist)?;
    let order = with_expiry(state, order).await?;
    let mut out = Params::new()
        .with("user_confirm_key", &order.user_confirm_key)
        .with("out_trade_no", &order.out_trade_no)
        .with("eft_trade_no", &order.eft_trade_no);
    match &req.refund_no {
        Some(refund_no) => {
            let refund = state
                .store()
                .refund_by_out_refund_no(&merchant.key, refund_no)
                .await?
                .filter(|r| r.eft_trade_no == order.eft_trade_no)
                .ok_or(ApiError::RefundNotExist)?;
            out.set("refund_no", &refund.out_refund_no)
                .set("trade_status", refund_wire_status(&refund))
                .set("trade_type", TradeType::Refund.as_str())
                .set("trade_time", gmt(refund.completed_at.unwrap_or(refund.created_at)))
                .set("transaction_amount", &refund.amount_text)
                .set("original_amount", &order.amount_text);
        }
        None => {
            out.set("trade_status", wire_status(&order))
                .set("trade_type", TradeType::Sale.as_str())
                .set("trade_time", gmt(order.final_at.unwrap_or(order.created_at)))
                .set("transaction_amount", &order.amount_text);
            if order.refunded_minor > 0 {
                out.set("refund_amount", minor_text(order.refunded_minor));
            }
        }
    }
    out.set("currency", &order.currency).set("payType", &order.pay_type).set("wallet", &order.wallet);
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
        .with("user_confirm_key", &order.user_confirm_key)
        .with("out_trade_no", &order.out_trade_no)
        .with("eft_trade_no", &order.eft_trade_no)
        .with("refund_no", &refund.out_refund_no)
        .with("refund_status", &refund.status)
        .with("trade_type", TradeType::Refund.as_str())
        .with("trade_status", refund_wire_status(&refund))
        .with("transaction_amount", &refund.amount_text)
        .with("original_amount", &order.amount_text)
        .with("currency", &order.currency)
        .with("wallet", &order.wallet))
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
    if !service.wallets.is_empty() && !service.wallets.contains(&order.wallet.as_str()) {
        return Err(ApiError::WalletMismatch(order.wallet));
    }
    if req.wallet.as_deref().is_some_and(|w| w != order.wallet) {
        return Err(ApiError::WalletMismatch(order.wallet));
    }
    if req.pay_type.as_deref().is_some_and(|p| p != order.pay_type) {
        return Err(ApiError::PayTypeMismatch(order.pay_type));
    }
    if req.total_fee.is_some_and(|t| t.minor() != order.amount_minor) {
        return Err(ApiError::TotalFeeMismatch(minor_text(order.amount_minor)));
    }
    let now = state.clock().now().unix_timestamp();
    let fingerprint = request_fingerprint(params);
    let new = NewRefund {
        eft_trade_no: order.eft_trade_no.clone(),
        user_confirm_key: merchant.key.clone(),
        out_refund_no: req.out_refund_no.clone(),
        fingerprint: fingerprint.clone(),
        service: service.name.to_owned(),
        amount_minor: req.amount.minor(),
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
                state.wake_notifier();
            }
            (r, o)
        }
        RefundOutcome::Existing(r, o) if r.fingerprint == fingerprint => (r, o),
        RefundOutcome::Existing(..) => return Err(ApiError::DuplicateRefund),
        RefundOutcome::NotPaid(_) => return Err(ApiError::NotPaid),
        RefundOutcome::Closed(_) => return Err(ApiError::TradeClosed),
        RefundOutcome::Exceeds(o) => {
            return Err(ApiError::RefundExceeds(minor_text(o.amount_minor - o.refunded_minor)));
        }
        RefundOutcome::NotFound => return Err(ApiError::RefundOrderNotExist),
    };
    let refund_time = OffsetDateTime::from_unix_timestamp(refund.created_at).map(format_time).unwrap_or_default();
    let mut out = Params::new()
        .with("user_confirm_key", &order.user_confirm_key)
        .with("out_trade_no", &order.out_trade_no)
        .with("out_refund_no", &refund.out_refund_no)
        .with("eft_trade_no", &order.eft_trade_no)
        .with("trade_status", refund_wire_status(&refund))
        .with("refund_time", refund_time)
        .with("payType", &order.pay_type);
    if let Some(b) = &req.buyer_type {
        out.set("buyerType", b.as_str());
    }
    out.set("wallet", &order.wallet)
        .set("fee_type", &order.currency)
        .set("return_amount", &refund.amount_text)
        .set("total_fee", &order.amount_text);
    Ok(out)
}

/// Completes apply-refunds whose delay has passed, queuing their
/// notifications. Returns how many completed.
///
/// # Errors
/// When the store fails.
pub async fn complete_due_refunds(state: &AppState) -> Result<usize, StoreError> {
    let now = state.clock().now();
    let due = state.store().due_refunds(now.unix_timestamp(), 100).await?;
    let mut completed = 0;
    for r in due {
        let notification = match (&r.notify_url, state.store().order_by_eft_trade_no(&r.eft_trade_no).await?) {
            (Some(url), Some(order)) => Some(refund_notification(&order, &r, url, now)?),
            _ => None,
        };
        if state.store().complete_refund(r.id, now.unix_timestamp(), notification).await? {
            tracing::info!(out_refund_no = %r.out_refund_no, "apply-refund completed");
            completed += 1;
        }
    }
    if completed > 0 {
        state.wake_notifier();
    }
    Ok(completed)
}

fn refund_notification(
    order: &OrderRecord,
    r: &RefundRecord,
    url: &str,
    now: OffsetDateTime,
) -> Result<NewNotification, StoreError> {
    let mut n = lifecycle::trade_notification(order, now)?;
    n.trade_type = TradeType::Refund;
    n.trade_status = TradeStatus::parse(&r.trade_status);
    n.total_fee = r.amount_text.clone();
    n.gmt_payment = VmpTime::from_datetime(now).to_gmt_string();
    let mut payload = n.to_params();
    payload.remove("time");
    payload.set("out_refund_no", &r.out_refund_no).set("original_amount", &order.amount_text);
    Ok(NewNotification {
        url: url.to_owned(),
        trade_status: r.trade_status.clone(),
        payload: payload.to_json(),
        due_at: now.unix_timestamp(),
    })
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
    if (!wallets.is_empty() && !wallets.contains(&order.wallet.as_str()))
        || req.wallet.as_deref().is_some_and(|w| w != order.wallet)
    {
        return Err(ApiError::WalletMismatch(order.wallet));
    }
    let order = match lifecycle::close_unpaid(state, &order).await? {
        SettleOutcome::Applied(o) => o,
        SettleOutcome::AlreadyFinal(o)
            if o.state == TRADE_SUCCESS || o.state == "TRADE_REFUND" || o.refunded_minor > 0 =>
        {
            return Err(ApiError::CloseFailedPaid);
        }
        SettleOutcome::AlreadyFinal(o) => o,
        SettleOutcome::NotFound => return Err(ApiError::TradeNotExist),
    };
    let mut out = Params::new()
        .with("user_confirm_key", &order.user_confirm_key)
        .with("out_trade_no", &order.out_trade_no)
        .with("eft_trade_no", &order.eft_trade_no)
        .with("trade_status", &order.state)
        .with("trade_type", TradeType::Sale.as_str())
        .with("wallet", &order.wallet);
    if let Some(tid) = &order.tid {
        out.set("tid", tid);
    }
    Ok(out)
}
