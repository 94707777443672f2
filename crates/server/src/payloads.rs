//! The notification payload of a sale, chosen by the scene of the order's
//! service: the one place that decides which fields a scene's merchants
//! receive (docs/protocol.md "Notifications" and the scene sections). The
//! outbox row ([`crate::domain::Order::settle`]) and the signed
//! `return_url` form are both built here.

use time::OffsetDateTime;
use vmp_protocol::Params;
use vmp_protocol::catalogue::Scene;

use crate::domain::Order;

/// The unsigned notification of `order`'s sale as of `now`, `time`
/// included: the qrcode scene's set for qrcode orders, the web set
/// (`trade_status_sync`) for every other scene.
pub fn sale_notification(order: &Order, now: OffsetDateTime) -> Params {
    match order.service.spec().scene {
        // The qrcode scene (scenes/qrcode.rs): no notify_type, lowercase names.
        Scene::Qrcode => crate::scenes::qrcode::notification(order, now).to_params(),
        _ => order.trade_notification(now).to_params(),
    }
}
