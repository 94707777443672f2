//! The jsapi scene's operations (docs/protocol.md "The jsapi scene"): the
//! sale, answered with the wallet's `payPackage`; the refund, which is the
//! gateway's one refund read in the lowercase family; and the scene's
//! notifications, sent for paid sales only.

use time::OffsetDateTime;
use vmp_protocol::answer::{JsapiOrderPlaced, JsapiRefundAnswer};
use vmp_protocol::fields::{EftTradeNo as WireEftTradeNo, HttpUrl, OpenId, Subject, Tid};
use vmp_protocol::notify_jsapi::{JsapiNotification, JsapiRefundNotice};
use vmp_protocol::request::{JsapiOrder, JsapiRefund, JsonObject, Refund};
use vmp_protocol::vmptime::VmpTime;

use super::{Sale, pending_order};
use crate::aftersale;
use crate::domain::{Order, Refund as StoredRefund, SceneFields};
use crate::error::ApiError;
use crate::merchant::Merchant;
use crate::orders::{self, check_urls};
use crate::state::AppState;
use crate::store::StoreError;

/// `rate` of every notification: the sandbox settles in the sale's
/// currency.
pub const RATE: &str = "1";

/// Stores a jsapi sale and answers it with its `payPackage`; an identical
/// re-submission gets the first answer again, any other reuse of the
/// `out_trade_no` is `03`.
///
/// # Errors
/// As [`orders::place_order`].
pub async fn place_order(
    state: &AppState,
    merchant: &Merchant,
    req: JsapiOrder,
    fingerprint: String,
    sent_at: VmpTime,
) -> Result<JsapiOrderPlaced, ApiError> {
    check_urls(state, merchant, [("notify_url", req.notify_url.as_ref()), ("return_url", req.return_url.as_ref())])?;
    let JsapiOrder {
        service,
        out_trade_no,
        amount,
        pay_type,
        wallet,
        scene_type,
        openid,
        sub_openid,
        buyer_type,
        subject,
        tid,
        currency,
        notify_url,
        return_url,
        active_time,
        receipt,
        goods_tag,
        detail,
        scene_info,
    } = req;
    let sale = Sale {
        service,
        out_trade_no,
        amount,
        currency,
        subject: subject.map(Subject::into_string).unwrap_or_default(),
        active_time,
    };
    let record = Order {
        pay_type: Some(pay_type),
        wallet: Some(wallet),
        // The jsapi scene has no pay_scene; its scene_type is kept below.
        buyer_type: buyer_type.map(|b| b.into_string()).unwrap_or_default(),
        tid: tid.map(Tid::into_string),
        notify_url: notify_url.map(HttpUrl::into_string),
        return_url: return_url.map(HttpUrl::into_string),
        scene_fields: Some(Box::new(SceneFields {
            scene_type,
            openid: openid.map(OpenId::into_string),
            sub_openid: sub_openid.map(OpenId::into_string),
            receipt,
            goods_tag: goods_tag.map(|g| g.into_string()),
            detail: detail.as_ref().map(|d| JsonObject::as_str(d).to_owned()),
            scene_info: scene_info.as_ref().map(|s| JsonObject::as_str(s).to_owned()),
        })),
        ..pending_order(state, merchant, sale, fingerprint, sent_at)?
    };
    answer_for(state, &orders::store(state, record).await?)
}

/// The answer of a stored jsapi order (deterministic, so replays match).
///
/// # Errors
/// [`ApiError::Store`] when the stored order is not a jsapi order.
pub fn answer_for(state: &AppState, o: &Order) -> Result<JsapiOrderPlaced, ApiError> {
    let fields = o.scene_fields.as_deref().ok_or(StoreError::Corrupt("orders.scene_fields"))?;
    Ok(JsapiOrderPlaced {
        user_confirm_key: o.user_confirm_key.as_str().to_owned(),
        out_trade_no: o.out_trade_no.clone(),
        eftpay_trade_no: wire_eft(o)?,
        pay_type: o.pay_type.map_or("", vmp_protocol::PayType::as_str).to_owned(),
        wallet: o.wallet.map_or("", vmp_protocol::Wallet::as_str).to_owned(),
        scene_type: fields.scene_type.as_str().to_owned(),
        openid: fields.openid.clone(),
        sub_openid: fields.sub_openid.clone(),
        pay_package: super::packages::issue(state.links(), o),
    })
}

fn wire_eft(o: &Order) -> Result<WireEftTradeNo, StoreError> {
    WireEftTradeNo::parse(o.eft_trade_no.as_str()).map_err(|_| StoreError::Corrupt("orders.eft_trade_no"))
}

/// A jsapi refund: the gateway's refund (same rules, same running total,
/// same apply-refund completion), read and answered in the lowercase
/// family.
///
/// # Errors
/// As [`aftersale::refund`].
pub async fn refund(
    state: &AppState,
    merchant: &Merchant,
    req: &JsapiRefund,
    fingerprint: String,
) -> Result<JsapiRefundAnswer, ApiError> {
    let refund = Refund {
        service: req.service,
        order: req.order.clone(),
        out_refund_no: req.refund_no.clone(),
        amount: req.amount.clone(),
        total_fee: Some(req.total_fee.clone()),
        wallet: Some(req.wallet),
        pay_type: Some(req.pay_type),
        buyer_type: req.buyer_type.clone(),
        reason: req.refund_desc.clone(),
        notify_url: req.notify_url.clone(),
    };
    let a = aftersale::refund(state, merchant, &refund, fingerprint).await?;
    Ok(JsapiRefundAnswer {
        user_confirm_key: a.user_confirm_key,
        out_trade_no: a.out_trade_no,
        refund_no: a.out_refund_no,
        eftpay_trade_no: a.eft_trade_no,
        trade_status: a.trade_status,
        refund_time: a.refund_time,
        transaction_amount: a.return_amount.unwrap_or_else(|| req.amount.clone()),
        total_fee: a.total_fee,
        fee_type: a.fee_type,
        pay_type: a.pay_type,
        wallet: a.wallet,
    })
}

/// The jsapi set of a sale's notification (see
/// `vmp_protocol::notify_jsapi`), as of `now`.
pub fn notification(order: &Order, now: OffsetDateTime) -> JsapiNotification {
    let web = order.trade_notification(now);
    let fields = order.scene_fields.as_deref();
    let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    JsapiNotification {
        pay_type: order.pay_type.map_or("", vmp_protocol::PayType::as_str).to_owned(),
        user_confirm_key: web.user_confirm_key,
        transaction_id: web.transaction_id,
        out_trade_no: web.out_trade_no,
        subject: nonempty(&order.subject),
        total_fee: web.total_fee,
        amount: web.amount,
        currency: web.currency.clone(),
        trade_status: web.trade_status,
        gmt_payment: web.gmt_payment,
        wallet: web.wallet,
        scene_type: fields.map(|f| f.scene_type.as_str().to_owned()).unwrap_or_default(),
        tid: web.tid,
        fee_type: Some(web.currency),
        rate: Some(RATE.to_owned()),
        eftpay_trade_no: web.eftpay_trade_no,
        openid: fields.and_then(|f| f.openid.clone()),
        sub_openid: fields.and_then(|f| f.sub_openid.clone()),
        refund: None,
        time: web.time,
    }
}

/// The jsapi set of an apply-refund's completion (sent to the refund's own
/// `notify_url` only): `trade_type` `REFUND`, `refund_no`, the refund's
/// amount as `total_fee`, the sale's as `original_amount`.
pub fn refund_notification(order: &Order, refund: &StoredRefund, at: OffsetDateTime) -> JsapiNotification {
    let mut n = notification(order, at);
    n.trade_status = refund.effect.trade_status();
    n.total_fee.clone_from(&refund.amount_text);
    n.amount = refund.amount;
    n.gmt_payment = VmpTime::from_datetime(at).to_gmt_string();
    n.refund =
        Some(JsapiRefundNotice { refund_no: refund.out_refund_no.clone(), original_amount: order.amount_text.clone() });
    n
}
