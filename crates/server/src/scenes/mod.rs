//! What differs by scene once an order exists: the notification its
//! outcome sends ([`sale_notification`], [`refund_notification`]: the ONE
//! place that picks a message by the order's scene), and the sale and
//! refund operations of scenes whose requests and answers are their own
//! ([`jsapi`], [`app`]; docs/protocol.md "The jsapi scene", "The app
//! scene"), with the `payPackage`s the gateway signs for them
//! ([`packages`]).

pub mod app;
pub mod jsapi;
pub mod packages;

use time::OffsetDateTime;
use vmp_protocol::Params;
use vmp_protocol::catalogue::Scene;
use vmp_protocol::notify::TradeType;
use vmp_protocol::vmptime::VmpTime;

use crate::domain::{Order, Refund};

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
