//! What differs by scene once an order exists, each scene a domain module
//! over the same orders, store and lifecycle: [`qrcode`] (point of sale),
//! [`cashier`] (eftPay's hosted cashier), [`jsapi`] and [`app`] (scenes
//! whose requests and answers are their own; docs/protocol.md "The jsapi
//! scene", "The app scene"), with the `payPackage`s the gateway signs for
//! them ([`packages`]). The request path calls them from its one `match`
//! (`http/jsapi.rs`). The notification an outcome sends
//! ([`sale_notification`], [`refund_notification`]) is picked here, the ONE
//! place that chooses a message by the order's scene.

pub mod app;
pub mod cashier;
pub mod jsapi;
pub mod packages;
pub mod qrcode;

use time::{Duration, OffsetDateTime};
use vmp_protocol::Params;
use vmp_protocol::amount::WireAmount;
use vmp_protocol::catalogue::Scene;
use vmp_protocol::fields::OutTradeNo;
use vmp_protocol::notify::TradeType;
use vmp_protocol::vmptime::VmpTime;
use vmp_protocol::{Currency, Service};

use crate::domain::{Order, OrderState, Refund};
use crate::error::ApiError;
use crate::merchant::Merchant;
use crate::orders::merchant_key;
use crate::state::AppState;

/// What every scene's sale has.
pub(crate) struct Sale {
    pub(crate) service: Service,
    pub(crate) out_trade_no: OutTradeNo,
    pub(crate) amount: WireAmount,
    pub(crate) currency: Currency,
    pub(crate) subject: String,
    pub(crate) active_time: u32,
}

/// A new pending order of `sale`, numbered and timed now; everything a
/// scene may add (wallet, pay_scene, tid, URLs, …) is empty, for the scene
/// to fill in. Every scene's sale starts here, Place an Order's too
/// (`orders::record`).
///
/// # Errors
/// [`ApiError::Store`] when the merchant's stored key is corrupt.
pub(crate) fn pending_order(
    state: &AppState,
    merchant: &Merchant,
    sale: Sale,
    fingerprint: String,
    sent_at: VmpTime,
) -> Result<Order, ApiError> {
    let now = state.clock().now();
    let active_time = i64::from(sale.active_time);
    Ok(Order {
        eft_trade_no: state.ids().next(now),
        user_confirm_key: merchant_key(merchant)?,
        out_trade_no: sale.out_trade_no,
        fingerprint,
        service: sale.service,
        pay_type: None,
        wallet: None,
        pay_scene: None,
        buyer_type: String::new(),
        amount: sale.amount.value(),
        amount_text: sale.amount.into_string(),
        currency: sale.currency,
        subject: sale.subject,
        body: None,
        tid: None,
        notify_url: None,
        return_url: None,
        lang: None,
        scheme: None,
        package_name: None,
        app_link: None,
        active_time,
        request_time: sent_at.to_string(),
        created_at: now.unix_timestamp(),
        expires_at: (now + Duration::seconds(active_time)).unix_timestamp(),
        state: OrderState::Pending,
        final_at: None,
        transaction_id: None,
        card_scheme: None,
        refunded_minor: 0,
        scene_fields: None,
    })
}

/// The scene an order's service stands for (an alias: its target's).
fn scene(order: &Order) -> Scene {
    order.service.spec().behaves_as().spec().scene
}

/// The message a sale's final state sends to its `notify_url`, without
/// `time` (stamped, and the message signed, at each attempt).
pub fn sale_notification(order: &Order, at: OffsetDateTime) -> Params {
    let mut payload = match scene(order) {
        Scene::Jsapi => jsapi::notification(order, at).to_params(),
        Scene::App => app::notification(order, at),
        // No notify_type, lowercase names (scenes/qrcode.rs).
        Scene::Qrcode => qrcode::notification(order, at).to_params(),
        _ => order.trade_notification(at).to_params(),
    };
    payload.remove("time");
    payload
}

/// The message an apply-refund's completion sends to its `notify_url`,
/// without `time`.
pub fn refund_notification(order: &Order, refund: &Refund, at: OffsetDateTime) -> Params {
    if scene(order) == Scene::Jsapi {
        let mut payload = jsapi::refund_notification(order, refund, at).to_params();
        payload.remove("time");
        return payload;
    }
    let mut n = order.trade_notification(at);
    n.trade_type = TradeType::Refund;
    n.trade_status = refund.effect.trade_status();
    n.total_fee.clone_from(&refund.amount_text);
    n.gmt_payment = VmpTime::from_datetime(at).to_gmt_string();
    let mut payload = n.to_params();
    payload.remove("time");
    payload.set("out_refund_no", &refund.out_refund_no).set("original_amount", &order.amount_text);
    payload
}
