//! The qrcode scene (a merchant-presented QR code at the till) as domain
//! operations: sale, query, refund, close, cancel, and the scene's
//! notification (docs/protocol.md "The qrcode scene").
//!
//! A qrcode order is an ordinary order (same table, lifecycle, sweeper and
//! outbox) without `pay_scene`; the scene differs in its field names, its
//! answers and its notification. The query, refund and close reuse the web
//! scene's operations (`aftersale`) and translate their answers.

use time::OffsetDateTime;
use vmp_protocol::Params;
use vmp_protocol::answer::{QrcodeCloseAnswer, QrcodeOrderPlaced, QrcodeQueryAnswer, QrcodeRefundAnswer};
use vmp_protocol::catalogue::{Service, Wallet};
use vmp_protocol::fields::{BuyerType, Tid};
use vmp_protocol::notify::QrcodeNotification;
use vmp_protocol::request::{
    NotifyTarget, QrcodeCancel, QrcodeClose, QrcodeOrder, QrcodeQuery, QrcodeRefund, QrcodeRequest, Refund,
};
use vmp_protocol::status::TradeType;
use vmp_protocol::vmptime::VmpTime;

use super::{Sale, pending_order};
use crate::aftersale::{self, check_family, find_order, wallet_texts, wire_eft};
use crate::domain::{NewCancel, Order, OrderState};
use crate::error::ApiError;
use crate::merchant::Merchant;
use crate::orders::{check_urls, store};
use crate::paylink::QR_SCAN_PATH;
use crate::state::AppState;
use crate::store::RefundOutcome;

/// Serves one request of the scene; `fingerprint` is the request's
/// idempotency fingerprint (computed only for writes that keep it).
///
/// # Errors
/// [`ApiError`] as each operation says.
pub async fn handle(
    state: &AppState,
    merchant: &Merchant,
    request: QrcodeRequest,
    fingerprint: impl FnOnce() -> String,
    sent_at: VmpTime,
) -> Result<Params, ApiError> {
    Ok(match request {
        QrcodeRequest::PlaceOrder(o) => place(state, merchant, o, fingerprint(), sent_at).await?.to_params(),
        QrcodeRequest::Query(q) => query(state, merchant, &q).await?.to_params(),
        QrcodeRequest::Refund(r) => refund(state, merchant, r, fingerprint()).await?.to_params(),
        QrcodeRequest::Close(c) => close(state, merchant, &c).await?.to_params(),
        QrcodeRequest::Cancel(c) => cancel(state, merchant, &c).await?.to_params(),
        // A new operation of the scene is answered as not supported yet.
        other => return Err(ApiError::Request(vmp_protocol::RequestError::NotSupported(other.service()))),
    })
}

/// Stores a qrcode sale and answers its `qr_code`: in the sandbox a link
/// to the gateway's stand-in for the wallet's scan-to-pay screen,
/// protected like `pay_apptrade` links. Idempotent like Place an Order.
///
/// # Errors
/// `-13` for a production URL rule, `24` when the wallet refuses (sandbox
/// amount `.44`), `03` for a reused `out_trade_no`, `-1` when the store fails.
pub async fn place(
    state: &AppState,
    merchant: &Merchant,
    req: QrcodeOrder,
    fingerprint: String,
    sent_at: VmpTime,
) -> Result<QrcodeOrderPlaced, ApiError> {
    check_urls(state, merchant, [("notify_url", req.notify_url.as_ref().and_then(NotifyTarget::url))])?;
    let sale = Sale {
        service: req.service,
        out_trade_no: req.out_trade_no,
        amount: req.amount,
        currency: req.currency,
        subject: req.subject.into_string(),
        active_time: req.active_time,
    };
    let record = Order {
        pay_type: Some(req.pay_type),
        wallet: Some(req.wallet),
        buyer_type: req.buyer_type.map(BuyerType::into_string).unwrap_or_default(),
        tid: req.tid.map(Tid::into_string),
        // A relative notify_url is kept as sent; the notifier records it as
        // undeliverable instead of sending it anywhere.
        notify_url: req.notify_url.map(NotifyTarget::into_string),
        ..pending_order(state, merchant, sale, fingerprint, sent_at)?
    };
    let order = store(state, record).await?;
    let (pay_type, wallet) = wallet_texts(&order);
    Ok(QrcodeOrderPlaced {
        qr_code: state.links().url_at(
            state.public_url(),
            QR_SCAN_PATH,
            order.user_confirm_key.as_str(),
            order.out_trade_no.as_str(),
            order.eft_trade_no.as_str(),
        ),
        user_confirm_key: order.user_confirm_key.as_str().to_owned(),
        eftpay_trade_no: wire_eft(&order)?,
        out_trade_no: order.out_trade_no,
        pay_type,
        wallet,
        transaction_amount: Some(order.amount_text),
        tid: order.tid,
    })
}

/// `service.*.qrcode.Query`: the web query's answer in the scene's names,
/// plus `buyer_id` once paid.
///
/// # Errors
/// `05` unknown order or refund, `-16`/`20` a service, `payment_type` or
/// `paytype` not of the order's family.
pub async fn query(state: &AppState, merchant: &Merchant, req: &QrcodeQuery) -> Result<QrcodeQueryAnswer, ApiError> {
    let order = find_order(state, merchant, &req.order).await?.ok_or(ApiError::TradeNotExist)?;
    let wallets = &req.wallet_fields;
    check_family(&order, req.service.spec().wallets, wallets.wallet, wallets.pay_type)?;
    let buyer_id = buyer_id(&order);
    let a = aftersale::describe(state, merchant, order, req.refund_no.as_ref()).await?;
    Ok(QrcodeQueryAnswer {
        user_confirm_key: a.user_confirm_key,
        out_trade_no: a.out_trade_no,
        eftpay_trade_no: a.eft_trade_no,
        refund_no: a.refund_no,
        trade_status: a.trade_status,
        trade_type: a.trade_type,
        trade_time: a.trade_time,
        transaction_amount: a.transaction_amount,
        original_amount: a.original_amount,
        refund_amount: a.refund_amount,
        currency: a.currency,
        pay_type: a.pay_type,
        wallet: a.wallet,
        tid: a.tid,
        transaction_id: a.transaction_id,
        buyer_id,
    })
}

/// `service.*.qrcode.Refund`: the web refund's rules (partial refunds up to
/// the order amount, `14` for a reused `refund_no` with other fields) in
/// the scene's names.
///
/// # Errors
/// As the web refund: `31`, `-16`, `20`, `16`, `15`, `18`, `14`.
pub async fn refund(
    state: &AppState,
    merchant: &Merchant,
    req: QrcodeRefund,
    fingerprint: String,
) -> Result<QrcodeRefundAnswer, ApiError> {
    let refund = Refund {
        service: req.service,
        order: req.order,
        out_refund_no: req.refund_no,
        amount: req.amount,
        total_fee: None,
        wallet: req.wallet_fields.wallet,
        pay_type: req.wallet_fields.pay_type,
        buyer_type: req.wallet_fields.buyer_type,
        reason: None,
        notify_url: None,
    };
    let a = aftersale::refund(state, merchant, &refund, fingerprint).await?;
    Ok(QrcodeRefundAnswer {
        user_confirm_key: a.user_confirm_key,
        out_trade_no: a.out_trade_no,
        refund_no: a.out_refund_no,
        eftpay_trade_no: a.eft_trade_no,
        trade_status: a.trade_status,
        transaction_amount: a.return_amount,
        refund_time: a.refund_time,
        pay_type: a.pay_type,
        wallet: a.wallet,
        buyer_type: a.buyer_type,
    })
}

/// `service.*.qrcode.Close`: an unpaid order is closed (`00`, again `00`).
///
/// # Errors
/// `05` unknown order, `-16`/`20` not of the order's family, `54` paid.
pub async fn close(state: &AppState, merchant: &Merchant, req: &QrcodeClose) -> Result<QrcodeCloseAnswer, ApiError> {
    let order = find_order(state, merchant, &req.order).await?.ok_or(ApiError::TradeNotExist)?;
    let wallets = &req.wallet_fields;
    check_family(&order, req.service.spec().wallets, wallets.wallet, wallets.pay_type)?;
    close_answer(aftersale::close_found(state, &order).await?)
}

/// `QRcodeTradeCancel.do`: reverses a paid order in full (a refund of all
/// that is left) and closes it. The order's state is checked before the
/// wallet fields, as eftPay does.
///
/// # Errors
/// `31` unknown order, `16` never paid, `15` closed (a second cancel
/// included), then `-16`/`20` not of the order's family.
pub async fn cancel(state: &AppState, merchant: &Merchant, req: &QrcodeCancel) -> Result<QrcodeCloseAnswer, ApiError> {
    let order = find_order(state, merchant, &req.order).await?.ok_or(ApiError::RefundOrderNotExist)?;
    let now = state.clock().now().unix_timestamp();
    match order.effective_state(now) {
        OrderState::Pending | OrderState::Failed => return Err(ApiError::CancelNotPaid),
        OrderState::Closed => return Err(ApiError::CancelClosed),
        OrderState::Paid | OrderState::PartlyRefunded => {}
    }
    let wallets = &req.wallet_fields;
    check_family(&order, Service::QrcodeCancel.spec().wallets, wallets.wallet, wallets.pay_type)?;
    let cancel = NewCancel { eft_trade_no: order.eft_trade_no, user_confirm_key: order.user_confirm_key, at: now };
    match state.store().cancel(cancel).await? {
        RefundOutcome::Applied(refund, order) => {
            tracing::info!(eft_trade_no = %order.eft_trade_no, amount = %refund.amount_text, "order cancelled");
            close_answer(order)
        }
        RefundOutcome::NotPaid(_) => Err(ApiError::CancelNotPaid),
        RefundOutcome::Closed(_) | RefundOutcome::Existing(..) | RefundOutcome::Exceeds(_) => {
            Err(ApiError::CancelClosed)
        }
        RefundOutcome::NotFound => Err(ApiError::RefundOrderNotExist),
    }
}

fn close_answer(order: Order) -> Result<QrcodeCloseAnswer, ApiError> {
    let (pay_type, wallet) = wallet_texts(&order);
    Ok(QrcodeCloseAnswer {
        user_confirm_key: order.user_confirm_key.as_str().to_owned(),
        eftpay_trade_no: wire_eft(&order)?,
        trade_status: order.state.trade_status(),
        trade_type: Some(TradeType::Sale),
        pay_type,
        wallet,
        tid: order.tid.clone(),
        transaction_id: order.transaction_id.clone(),
        buyer_id: buyer_id(&order),
        out_trade_no: order.out_trade_no,
    })
}

/// Whether the order was paid (it may be refunded or cancelled since).
fn was_paid(order: &Order) -> bool {
    matches!(order.state, OrderState::Paid | OrderState::PartlyRefunded) || order.refunded_minor > 0
}

/// The sandbox buyer's account at the wallet, once an order was paid.
fn buyer_id(order: &Order) -> Option<String> {
    was_paid(order).then(|| format!("SBXBUYER{}", order.eft_trade_no))
}

/// The wallet's own extra notification fields of a paid order (sandbox
/// values: no exchange, no discount).
fn extras(order: &Order) -> Vec<(String, String)> {
    if order.state != OrderState::Paid {
        return Vec::new();
    }
    let pairs: Vec<(&str, &str)> = match order.wallet {
        Some(Wallet::Gbpay) => {
            vec![
                ("rate", "1"),
                ("actual_total_fee", &order.amount_text),
                ("actual_total_fee_type", order.currency.code()),
            ]
        }
        Some(Wallet::UnionPay) => vec![
            ("payment_amount", &order.amount_text),
            ("cost_amount", &order.amount_text),
            ("uplan_discount", "0.00"),
            ("amount_discount", "0.00"),
        ],
        _ => Vec::new(),
    };
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect()
}

/// The qrcode scene's notification of `order` as of `now` (chosen by
/// `crate::payloads`).
pub fn notification(order: &Order, now: OffsetDateTime) -> QrcodeNotification {
    let web = order.trade_notification(now);
    QrcodeNotification {
        trade_type: TradeType::Sale,
        user_confirm_key: web.user_confirm_key,
        transaction_id: web.transaction_id,
        out_trade_no: web.out_trade_no,
        subject: order.subject.clone(),
        total_fee: web.total_fee,
        amount: web.amount,
        currency: web.currency,
        trade_status: web.trade_status,
        gmt_payment: web.gmt_payment,
        payment_type: web.wallet,
        buyer_id: buyer_id(order),
        tid: web.tid,
        eftpay_trade_no: web.eftpay_trade_no,
        extras: extras(order),
        time: web.time,
    }
}
