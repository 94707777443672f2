//! After the sale: Query, Refund, RefundStatusQuery and Close, as domain
//! operations. Each takes an authenticated merchant and its typed request
//! and returns the typed answer.

use time::OffsetDateTime;
use vmp_protocol::amount::WireAmount;
use vmp_protocol::answer::{CloseAnswer, QueryAnswer, RefundAnswer, RefundStatusAnswer};
use vmp_protocol::fields::{EftTradeNo, OutTradeNo};
use vmp_protocol::notify::{TradeStatus, TradeType};
use vmp_protocol::request::{CloseOrder, Query, Refund, RefundStatusQuery, TradeRef};
use vmp_protocol::status::RefundStatus;
use vmp_protocol::vmptime::{VmpTime, format_time};
use vmp_protocol::{Amount, PayType, Wallet};

use crate::config::Mode;
use crate::error::ApiError;
use crate::lifecycle::{self, TRADE_SUCCESS};
use crate::merchant::Merchant;
use crate::netguard;
use crate::orders::STATE_PENDING;
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

fn sum(minor: i64) -> Option<WireAmount> {
    Amount::from_minor(minor).ok().map(WireAmount::sum)
}

fn stored_amount(text: &str) -> Result<WireAmount, StoreError> {
    WireAmount::parse(text).map_err(|_| StoreError::Corrupt("amount_text"))
}

fn ids(order: &OrderRecord) -> Result<(OutTradeNo, EftTradeNo), StoreError> {
    let out = OutTradeNo::parse(&order.out_trade_no).map_err(|_| StoreError::Corrupt("orders.out_trade_no"))?;
    let eft = EftTradeNo::parse(&order.eft_trade_no).map_err(|_| StoreError::Corrupt("orders.eft_trade_no"))?;
    Ok((out, eft))
}

/// Whether `wallet` is of the family of the order's wallet (eftPay's batch
/// refunds send ALIPAYHK for every Alipay order).
fn same_family(order: &OrderRecord, wallet: Wallet) -> bool {
    Wallet::parse(&order.wallet).is_some_and(|w| w.same_family(wallet))
}

/// Whether `wallets` (a service's; empty = any) take the order's wallet.
fn takes(order: &OrderRecord, wallets: &[Wallet]) -> bool {
    wallets.is_empty() || wallets.iter().any(|w| same_family(order, *w))
}

/// Finds the merchant's order; an order of another merchant does not exist.
async fn find_order(
    state: &AppState,
    merchant: &Merchant,
    trade: &TradeRef,
) -> Result<Option<OrderRecord>, StoreError> {
    let order = match trade {
        TradeRef::Eft(eft) => state.store().order_by_eft_trade_no(eft.as_str()).await?,
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

fn wire_status(order: &OrderRecord) -> TradeStatus {
    TradeStatus::parse(if order.state == STATE_PENDING { TRADE_PROCESSING } else { &order.state })
}

fn refund_wire_status(r: &RefundRecord) -> TradeStatus {
    TradeStatus::parse(if r.status == "PROCESSING" { APPLY_SUCCESS } else { &r.trade_status })
}

/// `QRcodeTradeQuery.do` and `service.common.Query`.
///
/// # Errors
/// `05` when the order or refund does not exist.
pub async fn query(state: &AppState, merchant: &Merchant, req: &Query) -> Result<QueryAnswer, ApiError> {
    let order = find_order(state, merchant, &req.order).await?.ok_or(ApiError::TradeNotExist)?;
    let order = with_expiry(state, order).await?;
    let (out_trade_no, eft_trade_no) = ids(&order)?;
    let mut answer = QueryAnswer {
        user_confirm_key: order.user_confirm_key.clone(),
        out_trade_no,
        eft_trade_no,
        refund_no: None,
        trade_status: wire_status(&order),
        trade_type: Some(TradeType::Sale),
        trade_time: Some(gmt(order.final_at.unwrap_or(order.created_at))),
        transaction_amount: stored_amount(&order.amount_text)?,
        original_amount: None,
        refund_amount: None,
        currency: Some(order.currency.clone()),
        pay_type: Some(order.pay_type.clone()),
        wallet: Some(order.wallet.clone()),
        tid: order.tid.clone(),
        transaction_id: order.transaction_id.clone(),
        card_scheme: order.card_scheme.clone(),
    };
    match &req.refund_no {
        Some(refund_no) => {
            let refund = state
                .store()
                .refund_by_out_refund_no(&merchant.key, refund_no.as_str())
                .await?
                .filter(|r| r.eft_trade_no == order.eft_trade_no)
                .ok_or(ApiError::RefundNotExist)?;
            answer.trade_status = refund_wire_status(&refund);
            answer.trade_type = Some(TradeType::Refund);
            answer.trade_time = Some(gmt(refund.completed_at.unwrap_or(refund.created_at)));
            answer.original_amount = Some(answer.transaction_amount);
            answer.transaction_amount = stored_amount(&refund.amount_text)?;
            answer.refund_no = Some(refund.out_refund_no);
        }
        None => answer.refund_amount = sum(order.refunded_minor),
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
    let (out_trade_no, eft_trade_no) = ids(&order)?;
    Ok(RefundStatusAnswer {
        user_confirm_key: order.user_confirm_key.clone(),
        out_trade_no,
        eft_trade_no,
        refund_status: RefundStatus::parse(&refund.status),
        trade_type: Some(TradeType::Refund),
        trade_status: Some(refund_wire_status(&refund)),
        transaction_amount: Some(stored_amount(&refund.amount_text)?),
        original_amount: Some(stored_amount(&order.amount_text)?),
        currency: Some(order.currency.clone()),
        wallet: Some(order.wallet.clone()),
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
    if !takes(&order, spec.wallets) || req.wallet.is_some_and(|w| !same_family(&order, w)) {
        return Err(ApiError::WalletMismatch(order.wallet));
    }
    if req.pay_type.is_some_and(|p| PayType::parse(&order.pay_type).is_none_or(|o| o.family() != p.family())) {
        return Err(ApiError::PayTypeMismatch(order.pay_type));
    }
    let now = state.clock().now().unix_timestamp();
    let new = NewRefund {
        eft_trade_no: order.eft_trade_no.clone(),
        user_confirm_key: merchant.key.clone(),
        out_refund_no: req.out_refund_no.as_str().to_owned(),
        fingerprint: fingerprint.clone(),
        service: req.service.label().to_owned(),
        amount_minor: req.amount.value().minor(),
        amount_text: req.amount.as_str().to_owned(),
        reason: req.reason.as_ref().map(|r| r.as_str().to_owned()),
        complete_after: spec.apply.then_some(now + APPLY_REFUND_DELAY_SECONDS),
        notify_url: if spec.apply {
            req.notify_url.as_ref().map(|u| u.as_str().to_owned()).or(order.notify_url.clone())
        } else {
            None
        },
        at: now,
    };
    let (refund, order) = match state.store().refund(new).await? {
        RefundOutcome::Applied(r, o) => {
            tracing::info!(eft_trade_no = %o.eft_trade_no, out_refund_no = %r.out_refund_no, amount = %r.amount_text, "refund applied");
            if spec.apply {
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
    let (out_trade_no, eft_trade_no) = ids(&order)?;
    Ok(RefundAnswer {
        user_confirm_key: order.user_confirm_key.clone(),
        out_trade_no,
        out_refund_no: refund.out_refund_no.clone(),
        eft_trade_no,
        trade_status: refund_wire_status(&refund),
        refund_time: Some(refund_time),
        pay_type: Some(order.pay_type.clone()),
        buyer_type: req.buyer_type.as_ref().map(|b| b.as_str().to_owned()),
        wallet: Some(order.wallet.clone()),
        fee_type: Some(order.currency.clone()),
        return_amount: Some(stored_amount(&refund.amount_text)?),
        total_fee: Some(match &req.total_fee {
            Some(t) => t.clone(),
            None => stored_amount(&order.amount_text)?,
        }),
    })
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
pub async fn close(state: &AppState, merchant: &Merchant, req: &CloseOrder) -> Result<CloseAnswer, ApiError> {
    let order = find_order(state, merchant, &req.order).await?.ok_or(ApiError::TradeNotExist)?;
    if !takes(&order, req.service.spec().wallets) || req.wallet.is_some_and(|w| !same_family(&order, w)) {
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
    let (out_trade_no, eft_trade_no) = ids(&order)?;
    Ok(CloseAnswer {
        user_confirm_key: order.user_confirm_key.clone(),
        out_trade_no,
        eft_trade_no,
        trade_status: TradeStatus::parse(&order.state),
        trade_type: Some(TradeType::Sale),
        wallet: Some(order.wallet.clone()),
        tid: order.tid.clone(),
    })
}
