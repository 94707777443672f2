//! After the sale: Query, Refund, RefundStatusQuery and Close, as domain
//! operations. Each takes an authenticated merchant and its typed request
//! and returns the typed answer.

use time::OffsetDateTime;
use vmp_protocol::amount::WireAmount;
use vmp_protocol::answer::{CloseAnswer, QueryAnswer, RefundAnswer, RefundStatusAnswer};
use vmp_protocol::catalogue::{Family, Notify};
use vmp_protocol::fields::{EftTradeNo as WireEftTradeNo, RefundNo};
use vmp_protocol::notify::TradeType;
use vmp_protocol::request::{CloseOrder, Query, Refund, RefundStatusQuery, TradeRef};
use vmp_protocol::vmptime::{VmpTime, format_time};
use vmp_protocol::{Amount, PayType, Wallet};

use crate::config::Mode;
use crate::domain::{NewRefund, Order, OrderState};
use crate::error::ApiError;
use crate::lifecycle;
use crate::merchant::Merchant;
use crate::netguard;
use crate::state::AppState;
use crate::store::{RefundOutcome, SettleOutcome, StoreError};

/// How long the sandbox takes to complete an apply-refund.
pub const APPLY_REFUND_DELAY_SECONDS: i64 = 5;

pub(crate) fn gmt(at: i64) -> String {
    OffsetDateTime::from_unix_timestamp(at).map(|t| VmpTime::from_datetime(t).to_gmt_string()).unwrap_or_default()
}

pub(crate) fn minor_text(minor: i64) -> String {
    format!("{}.{:02}", minor / 100, minor % 100)
}

/// An amount the gateway stored as sent, back on the wire.
pub(crate) fn stored_amount(text: &str) -> Result<WireAmount, StoreError> {
    WireAmount::parse(text).map_err(|_| StoreError::Corrupt("amount_text"))
}

/// The order's number as the answers carry it.
pub(crate) fn wire_eft(order: &Order) -> Result<WireEftTradeNo, StoreError> {
    WireEftTradeNo::parse(order.eft_trade_no.as_str()).map_err(|_| StoreError::Corrupt("orders.eft_trade_no"))
}

/// `-16` when the service (its `wallets`; empty = any) or the `wallet`
/// sent is not of the order's family, `20` when the `payType` sent is not.
/// An order without a wallet yet (a cashier order whose buyer has not
/// chosen) has no family to check; it is unpaid, and its state decides.
pub(crate) fn check_family(
    order: &Order,
    wallets: &[Wallet],
    wallet: Option<Wallet>,
    pay_type: Option<PayType>,
) -> Result<(), ApiError> {
    let (Some(own), Some(own_pay_type)) = (order.wallet, order.pay_type) else { return Ok(()) };
    if !order.taken_by(wallets) || wallet.is_some_and(|w| !w.same_family(own)) {
        return Err(ApiError::WalletMismatch(own.as_str().to_owned()));
    }
    if pay_type.is_some_and(|p| p.family() != own_pay_type.family()) {
        return Err(ApiError::PayTypeMismatch(own_pay_type.as_str().to_owned()));
    }
    Ok(())
}

/// An order's `payType` and wallet as answers carry them (absent before a
/// cashier order's buyer chose).
pub(crate) fn wallet_texts(order: &Order) -> (Option<String>, Option<String>) {
    (order.pay_type.map(|p| p.as_str().to_owned()), order.wallet.map(|w| w.as_str().to_owned()))
}

/// Finds the merchant's order; an order of another merchant does not exist.
pub(crate) async fn find_order(
    state: &AppState,
    merchant: &Merchant,
    trade: &TradeRef,
) -> Result<Option<Order>, StoreError> {
    let order = match trade {
        TradeRef::Eft(eft) => state.store().order_by_eft_trade_no(eft.as_str()).await?,
        TradeRef::Out(out) => state.store().order_by_out_trade_no(&merchant.key, out.as_str()).await?,
    };
    Ok(order.filter(|o| o.user_confirm_key.as_str() == merchant.key))
}

/// `QRcodeTradeQuery.do` and `service.common.Query`. Writes nothing: an
/// expired unpaid order is reported closed; the sweeper writes that.
///
/// # Errors
/// `05` when the order or refund does not exist.
pub async fn query(state: &AppState, merchant: &Merchant, req: &Query) -> Result<QueryAnswer, ApiError> {
    let order = find_order(state, merchant, &req.order).await?.ok_or(ApiError::TradeNotExist)?;
    describe(state, merchant, order, req.refund_no.as_ref()).await
}

/// What a query answers about `order`, or about its refund `refund_no`.
///
/// # Errors
/// `05` when the refund does not exist.
pub(crate) async fn describe(
    state: &AppState,
    merchant: &Merchant,
    order: Order,
    refund_no: Option<&RefundNo>,
) -> Result<QueryAnswer, ApiError> {
    let now = state.clock().now().unix_timestamp();
    let mut answer = QueryAnswer {
        user_confirm_key: order.user_confirm_key.as_str().to_owned(),
        out_trade_no: order.out_trade_no.clone(),
        eft_trade_no: wire_eft(&order)?,
        refund_no: None,
        trade_status: order.effective_state(now).trade_status(),
        trade_type: Some(TradeType::Sale),
        trade_time: Some(gmt(order.effective_final_at(now).unwrap_or(order.created_at))),
        transaction_amount: stored_amount(&order.amount_text)?,
        original_amount: None,
        refund_amount: Amount::from_minor(order.refunded_minor).ok().map(WireAmount::sum),
        currency: Some(order.currency.code().to_owned()),
        pay_type: wallet_texts(&order).0,
        wallet: wallet_texts(&order).1,
        tid: order.tid.clone(),
        transaction_id: order.transaction_id.clone(),
        card_scheme: order.card_scheme.clone(),
        eftpay_trade_no: None,
        extra_trade_no: None,
    };
    // The lowercase family's orders (jsapi) are answered with its names too.
    let lower = order.service.spec().family == Family::Lower;
    if lower {
        answer.eftpay_trade_no = Some(order.eft_trade_no.as_str().to_owned());
    }
    if let Some(refund_no) = refund_no {
        let refund = state
            .store()
            .refund_by_out_refund_no(&merchant.key, refund_no.as_str())
            .await?
            .filter(|r| r.eft_trade_no == order.eft_trade_no)
            .ok_or(ApiError::RefundNotExist)?;
        answer.trade_status = refund.trade_status();
        answer.trade_type = Some(TradeType::Refund);
        answer.trade_time = Some(gmt(refund.completed_at.unwrap_or(refund.created_at)));
        answer.original_amount = Some(answer.transaction_amount);
        answer.transaction_amount = stored_amount(&refund.amount_text)?;
        answer.refund_amount = None;
        if lower {
            answer.extra_trade_no = Some(refund.out_refund_no.clone());
        }
        answer.refund_no = Some(refund.out_refund_no);
    }
    Ok(answer)
}

/// `service.unified.RefundStatusQuery`.
///
/// # Errors
/// `05` when the order or refund does not exist.
pub async fn refund_status(
    state: &AppState,
    merchant: &Merchant,
    req: &RefundStatusQuery,
) -> Result<RefundStatusAnswer, ApiError> {
    let order = find_order(state, merchant, &req.order).await?.ok_or(ApiError::TradeNotExist)?;
    let refund = state
        .store()
        .refund_by_out_refund_no(&merchant.key, req.refund_no.as_str())
        .await?
        .filter(|r| r.eft_trade_no == order.eft_trade_no)
        .ok_or(ApiError::RefundNotExist)?;
    Ok(RefundStatusAnswer {
        user_confirm_key: order.user_confirm_key.as_str().to_owned(),
        out_trade_no: order.out_trade_no.clone(),
        eft_trade_no: wire_eft(&order)?,
        refund_status: refund.state.refund_status(),
        trade_type: Some(TradeType::Refund),
        trade_status: Some(refund.trade_status()),
        transaction_amount: Some(stored_amount(&refund.amount_text)?),
        original_amount: Some(stored_amount(&order.amount_text)?),
        currency: Some(order.currency.code().to_owned()),
        wallet: wallet_texts(&order).1,
        recv_account: None,
        refund_no: refund.out_refund_no,
    })
}

/// A refund on one of the refund services.
///
/// `total_fee` is echoed as sent (the order amount when none was sent) and
/// never compared with the order: only the running total counts (`18`).
///
/// # Errors
/// `31` unknown order, `-16`/`20` wallet or payType not of the order's
/// family, `16` not paid, `15` closed, `18` over the order amount, `14`
/// `out_refund_no` reused by a different refund.
pub async fn refund(
    state: &AppState,
    merchant: &Merchant,
    req: &Refund,
    fingerprint: String,
) -> Result<RefundAnswer, ApiError> {
    let spec = req.service.spec();
    // The same guard as Place an Order's: checked when the refund is asked
    // for, not found out at delivery.
    if let (true, Mode::Production, Some(url)) = (spec.apply, state.mode(), &req.notify_url) {
        netguard::check_url(url.url(), &merchant.allowed_ports).map_err(|e| ApiError::UrlRefused("notify_url", e))?;
    }
    let order = find_order(state, merchant, &req.order).await?.ok_or(ApiError::RefundOrderNotExist)?;
    check_family(&order, spec.wallets, req.wallet, req.pay_type)?;
    let now = state.clock().now().unix_timestamp();
    // Apply-refunds are WeChat Pay's (AppTradeApplyRefund.do refunds an
    // Alipay order at once).
    let apply = order.wallet.is_some_and(|w| spec.is_apply_for(w));
    // A sale notified only when paid (jsapi) never has a refund reported to
    // its notify_url: its handler would book it as a payment.
    let fallback = order.notify_url.clone().filter(|_| order.service.spec().notify != Notify::PaidOnly);
    let new = NewRefund {
        eft_trade_no: order.eft_trade_no.clone(),
        user_confirm_key: order.user_confirm_key.clone(),
        out_refund_no: req.out_refund_no.as_str().to_owned(),
        fingerprint: fingerprint.clone(),
        service: req.service,
        amount: req.amount.value(),
        amount_text: req.amount.as_str().to_owned(),
        reason: req.reason.as_ref().map(|r| r.as_str().to_owned()),
        complete_after: apply.then_some(now + APPLY_REFUND_DELAY_SECONDS),
        notify_url: if apply { req.notify_url.as_ref().map(|u| u.as_str().to_owned()).or(fallback) } else { None },
        at: now,
    };
    let (refund, order) = match state.store().refund(new).await? {
        RefundOutcome::Applied(r, o) => {
            tracing::info!(eft_trade_no = %o.eft_trade_no, out_refund_no = %r.out_refund_no, amount = %r.amount_text, "refund applied");
            if apply {
                state.wake_sweeper();
            }
            (r, o)
        }
        RefundOutcome::Existing(r, o) if r.fingerprint == fingerprint => (r, o),
        RefundOutcome::Existing(..) => return Err(ApiError::DuplicateRefund),
        RefundOutcome::NotPaid(_) => return Err(ApiError::NotPaid),
        RefundOutcome::Closed(_) => return Err(ApiError::TradeClosed),
        RefundOutcome::Exceeds(o) => return Err(ApiError::RefundExceeds(minor_text(o.refundable_minor()))),
        RefundOutcome::NotFound => return Err(ApiError::RefundOrderNotExist),
    };
    let refund_time = OffsetDateTime::from_unix_timestamp(refund.created_at).map(format_time).unwrap_or_default();
    Ok(RefundAnswer {
        user_confirm_key: order.user_confirm_key.as_str().to_owned(),
        out_trade_no: order.out_trade_no.clone(),
        eft_trade_no: wire_eft(&order)?,
        trade_status: refund.trade_status(),
        refund_time: Some(refund_time),
        pay_type: wallet_texts(&order).0,
        buyer_type: req.buyer_type.as_ref().map(|b| b.as_str().to_owned()),
        wallet: wallet_texts(&order).1,
        fee_type: Some(order.currency.code().to_owned()),
        return_amount: Some(stored_amount(&refund.amount_text)?),
        total_fee: Some(match &req.total_fee {
            Some(t) => t.clone(),
            None => stored_amount(&order.amount_text)?,
        }),
        out_refund_no: refund.out_refund_no,
    })
}

/// Close an unpaid order: it becomes `TRADE_CLOSED` and can no longer be paid.
///
/// # Errors
/// `05` unknown order, `-16` wallet not of the order's family, `54` already paid.
pub async fn close(state: &AppState, merchant: &Merchant, req: &CloseOrder) -> Result<CloseAnswer, ApiError> {
    let order = find_order(state, merchant, &req.order).await?.ok_or(ApiError::TradeNotExist)?;
    check_family(&order, req.service.spec().wallets, req.wallet, None)?;
    let order = close_found(state, &order).await?;
    Ok(CloseAnswer {
        user_confirm_key: order.user_confirm_key.as_str().to_owned(),
        out_trade_no: order.out_trade_no.clone(),
        eft_trade_no: wire_eft(&order)?,
        trade_status: order.state.trade_status(),
        trade_type: Some(TradeType::Sale),
        wallet: wallet_texts(&order).1,
        tid: order.tid.clone(),
    })
}

/// Closes a found unpaid order; closing a closed (or failed) one again
/// changes nothing.
///
/// # Errors
/// `54` when it is paid (or was, and is refunded), `05` when it is gone.
pub(crate) async fn close_found(state: &AppState, order: &Order) -> Result<Order, ApiError> {
    Ok(match lifecycle::close_unpaid(state, order).await? {
        SettleOutcome::Applied(o) => o,
        SettleOutcome::AlreadyFinal(o)
            if matches!(o.state, OrderState::Paid | OrderState::PartlyRefunded) || o.refunded_minor > 0 =>
        {
            return Err(ApiError::CloseFailedPaid);
        }
        SettleOutcome::AlreadyFinal(o) => o,
        SettleOutcome::NotFound => return Err(ApiError::TradeNotExist),
    })
}
