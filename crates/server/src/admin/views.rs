//! What the console shows and the admin API answers: one set of
//! serializable views, built from the store's records, used by both (the
//! HTML templates read the same fields the JSON carries). Times are unix
//! seconds or milliseconds plus the same instant as text in UTC+8, the
//! protocol's zone (`2026-11-26 14:22:00`).

use serde::Serialize;
use time::OffsetDateTime;
use time::macros::format_description;
use utoipa::ToSchema;
use vmp_protocol::vmptime::VMP_OFFSET;

use crate::domain::{Attempt, Order, Refund};
use crate::merchant::MerchantSummary;
use crate::store::{ListedNotification, LoggedRequest};

/// `2026-11-26 14:22:00` (UTC+8) of a unix time in seconds.
pub fn time_text(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| t.to_offset(VMP_OFFSET))
        .ok()
        .and_then(|t| t.format(format_description!("[year]-[month]-[day] [hour]:[minute]:[second]")).ok())
        .unwrap_or_default()
}

/// `2026-11-26 14:22:00.123` (UTC+8) of a unix time in milliseconds.
pub fn time_text_ms(unix_ms: i64) -> String {
    format!("{}.{:03}", time_text(unix_ms.div_euclid(1000)), unix_ms.rem_euclid(1000))
}

/// When an order was placed, unix milliseconds: from its `eft_trade_no`,
/// whose digits after the node id are the creation time to the
/// millisecond (UTC+8, see `ids`); `created_at` (seconds) otherwise.
pub fn order_at_ms(o: &Order) -> i64 {
    let d = o.eft_trade_no.as_str();
    let n = |from: usize, len: usize| d.get(from..from + len).and_then(|s| s.parse::<u16>().ok());
    let parsed = (|| {
        let date = time::Date::from_calendar_date(
            2000 + i32::from(n(2, 2)?),
            time::Month::try_from(u8::try_from(n(4, 2)?).ok()?).ok()?,
            u8::try_from(n(6, 2)?).ok()?,
        )
        .ok()?;
        let t = time::Time::from_hms_milli(
            u8::try_from(n(8, 2)?).ok()?,
            u8::try_from(n(10, 2)?).ok()?,
            u8::try_from(n(12, 2)?).ok()?,
            n(14, 3)?,
        )
        .ok()?;
        let at = time::PrimitiveDateTime::new(date, t).assume_offset(VMP_OFFSET);
        i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()
    })();
    match parsed {
        // The digits are only trusted when they agree with created_at.
        Some(ms) if d.len() == 23 && ms.div_euclid(1000) == o.created_at => ms,
        _ => o.created_at * 1000,
    }
}

/// Minor units as major-unit text (`1234` → `12.34`).
pub fn minor_text(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", minor.unsigned_abs() / 100, minor.unsigned_abs() % 100)
}

/// An order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderView {
    /// The gateway's order number.
    pub eft_trade_no: String,
    /// The merchant's order number.
    pub out_trade_no: String,
    /// The merchant's `user_confirm_key`.
    pub merchant: String,
    /// The `service` (or the endpoint of an endpoint-only interface).
    pub service: String,
    /// `payType`.
    pub pay_type: String,
    /// `wallet`.
    pub wallet: String,
    /// `pay_scene`.
    pub pay_scene: String,
    /// The amount as sent.
    pub amount: String,
    /// `fee_type`.
    pub currency: String,
    /// `subject`.
    pub subject: String,
    /// The stored state (`PENDING`, `TRADE_SUCCESS`, …).
    pub state: String,
    /// What a query answers now (`TRADE_PROCESSING` while pending; an
    /// expired pending order is `TRADE_CLOSED`).
    pub trade_status: String,
    /// Created, unix seconds.
    pub created_at: i64,
    /// Created, UTC+8.
    pub created: String,
    /// Reached its final state, unix seconds.
    pub final_at: Option<i64>,
    /// Expires unpaid, unix seconds.
    pub expires_at: i64,
    /// Refunded so far (major units).
    pub refunded: String,
    /// `notify_url`.
    pub notify_url: Option<String>,
    /// `return_url`.
    pub return_url: Option<String>,
    /// The wallet's transaction number.
    pub transaction_id: Option<String>,
    /// The card scheme of a card payment.
    pub card_scheme: Option<String>,
}

impl OrderView {
    /// The view of `o` at `now` (unix seconds).
    pub fn of(o: &Order, now: i64) -> Self {
        Self {
            eft_trade_no: o.eft_trade_no.as_str().to_owned(),
            out_trade_no: o.out_trade_no.as_str().to_owned(),
            merchant: o.user_confirm_key.as_str().to_owned(),
            service: o.service.label().to_owned(),
            pay_type: o.pay_type.map_or("", vmp_protocol::PayType::as_str).to_owned(),
            wallet: o.wallet.map_or("", vmp_protocol::Wallet::as_str).to_owned(),
            pay_scene: o.pay_scene.map_or("", vmp_protocol::PayScene::as_str).to_owned(),
            amount: o.amount_text.clone(),
            currency: o.currency.code().to_owned(),
            subject: o.subject.clone(),
            state: o.state.as_str().to_owned(),
            trade_status: o.effective_state(now).wire_str().to_owned(),
            created_at: o.created_at,
            created: time_text(o.created_at),
            final_at: o.final_at,
            expires_at: o.expires_at,
            refunded: minor_text(o.refunded_minor),
            notify_url: o.notify_url.clone(),
            return_url: o.return_url.clone(),
            transaction_id: o.transaction_id.clone(),
            card_scheme: o.card_scheme.clone(),
        }
    }
}

/// A page of orders.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderPage {
    /// The orders, newest first.
    pub orders: Vec<OrderView>,
    /// Where the next page starts (`None`: nothing older).
    pub next: Option<String>,
    /// True when the page stopped early because its scan reached its bound
    /// before filling: older orders may still match (follow `next`).
    pub partial: bool,
}

/// One entry of an order's timeline.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TimelineEntry {
    /// When, unix milliseconds.
    pub at_ms: i64,
    /// When, UTC+8.
    pub at: String,
    /// What: `request`, `page_view`, `buyer_action`, `sandbox_action`,
    /// `console_action`, `settled`, `notification_queued`,
    /// `notification_attempt`, `refund`, `refund_completed`.
    pub kind: String,
    /// One line about it.
    pub summary: String,
    /// What was sent (a request, a notification's body), JSON.
    pub sent: Option<String>,
    /// What came back (the answer, the merchant's answer excerpt), or the error.
    pub answer: Option<String>,
    /// Anything else, JSON: an event's details, a refused signature's hint.
    pub detail: Option<String>,
    /// The request log record it comes from, when it does.
    pub request_id: Option<i64>,
}

/// One notification attempt.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AttemptView {
    /// Attempt number (1-based).
    pub attempt: i64,
    /// When, unix seconds.
    pub attempted_at: i64,
    /// When, UTC+8.
    pub at: String,
    /// The merchant's HTTP status, when it answered.
    pub http_status: Option<i64>,
    /// How long it took, ms.
    pub latency_ms: i64,
    /// `delivered`, `rejected` or `error`.
    pub outcome: String,
    /// The first bytes of the merchant's answer (`rejected`, `delivered`).
    pub answer_excerpt: Option<String>,
    /// Why nothing was answered (`error`).
    pub error: Option<String>,
    /// The signed message as sent.
    pub body: Option<String>,
}

impl AttemptView {
    /// The view of a recorded attempt.
    pub fn of(a: &Attempt) -> Self {
        let failed = a.outcome == crate::domain::AttemptOutcome::Error;
        Self {
            attempt: a.attempt,
            attempted_at: a.attempted_at,
            at: time_text(a.attempted_at),
            http_status: a.http_status,
            latency_ms: a.latency_ms,
            outcome: a.outcome.as_str().to_owned(),
            answer_excerpt: (!failed).then(|| a.excerpt.clone()),
            error: failed.then(|| a.excerpt.clone()),
            body: a.body.clone(),
        }
    }
}

/// A notification (an outbox row).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotificationView {
    /// Its id.
    pub id: i64,
    /// The order.
    pub eft_trade_no: String,
    /// The merchant.
    pub merchant: String,
    /// Where it goes.
    pub url: String,
    /// The `trade_status` it reports.
    pub trade_status: String,
    /// `owed`, `delivered` or `failed`.
    pub status: String,
    /// Attempts made.
    pub attempts: i64,
    /// Next attempt due, unix seconds (owed only).
    pub next_attempt_at: Option<i64>,
    /// Next attempt due, UTC+8 (owed only).
    pub next_attempt: Option<String>,
    /// When it was queued, UTC+8.
    pub created: String,
    /// When it was delivered, unix seconds.
    pub delivered_at: Option<i64>,
    /// `retried` or `once`.
    pub delivery: String,
    /// Its attempts, when asked for (detail views).
    pub attempt_log: Vec<AttemptView>,
}

/// How the console names an outbox status (`pending` is "owed").
pub fn outbox_status_text(s: crate::domain::OutboxStatus) -> &'static str {
    match s {
        crate::domain::OutboxStatus::Pending => "owed",
        crate::domain::OutboxStatus::Delivered => "delivered",
        crate::domain::OutboxStatus::Failed => "failed",
    }
}

impl NotificationView {
    /// The view of a listed row (attempts not included).
    pub fn of(l: &ListedNotification) -> Self {
        let n = &l.notification;
        let owed = n.status == crate::domain::OutboxStatus::Pending;
        Self {
            id: n.id,
            eft_trade_no: n.eft_trade_no.as_str().to_owned(),
            merchant: n.user_confirm_key.as_str().to_owned(),
            url: n.url.clone(),
            trade_status: n.trade_status.wire_str().to_owned(),
            status: outbox_status_text(n.status).to_owned(),
            attempts: n.attempts,
            next_attempt_at: owed.then_some(n.next_attempt_at),
            next_attempt: owed.then(|| time_text(n.next_attempt_at)),
            created: time_text(l.created_at),
            delivered_at: n.delivered_at,
            delivery: n.delivery.as_str().to_owned(),
            attempt_log: Vec::new(),
        }
    }
}

/// A page of notifications.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct NotificationPage {
    /// The notifications (owed: soonest due first; others: newest first).
    pub notifications: Vec<NotificationView>,
    /// Where the next page starts (`None`: no more).
    pub next: Option<String>,
}

/// A refund of an order.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RefundView {
    /// The merchant's refund number.
    pub out_refund_no: String,
    /// The amount as sent.
    pub amount: String,
    /// `PROCESSING`, `SUCCESS` or `FAIL`.
    pub status: String,
    /// Created, UTC+8.
    pub created: String,
    /// Completed, UTC+8.
    pub completed: Option<String>,
}

impl RefundView {
    /// The view of a refund.
    pub fn of(r: &Refund) -> Self {
        Self {
            out_refund_no: r.out_refund_no.clone(),
            amount: r.amount_text.clone(),
            status: r.state.as_str().to_owned(),
            created: time_text(r.created_at),
            completed: r.completed_at.map(time_text),
        }
    }
}

/// An order with everything that happened to it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrderDetail {
    /// The order.
    pub order: OrderView,
    /// What happened, oldest first.
    pub timeline: Vec<TimelineEntry>,
    /// Its notifications, with their attempts.
    pub notifications: Vec<NotificationView>,
    /// Its refunds.
    pub refunds: Vec<RefundView>,
}

/// The signature hint of a request refused with `10`.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct SignHintView {
    /// `<secret>` and the string the gateway signed (fields sorted; card
    /// numbers and secrets masked).
    pub signed: String,
    /// The `sign` it expected.
    pub expected: String,
    /// The `sign` it received.
    pub received: Option<String>,
    /// The common mistake the received `sign` matches, if any.
    pub mistake: Option<String>,
}

/// One API request of the request log.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RequestView {
    /// Its record id; `None` for an accepted Place an Order, whose order is
    /// its record (see `eft_trade_no`).
    pub id: Option<i64>,
    /// When it arrived, unix milliseconds.
    pub at_ms: i64,
    /// When it arrived, UTC+8.
    pub at: String,
    /// The servlet (`JSAPIService.do`, …).
    pub endpoint: String,
    /// `service`.
    pub service: Option<String>,
    /// `user_confirm_key`.
    pub merchant: Option<String>,
    /// `out_trade_no`.
    pub out_trade_no: Option<String>,
    /// `eft_trade_no`.
    pub eft_trade_no: Option<String>,
    /// The answer's `return_status`.
    pub return_status: String,
    /// How long it took, microseconds (`None`: no longer known).
    pub latency_us: Option<i64>,
    /// The English reason of a refusal.
    pub reason: Option<String>,
}

impl RequestView {
    /// The view of a logged request.
    pub fn of(l: &LoggedRequest) -> Self {
        let r = &l.record;
        Self {
            id: Some(l.id),
            at_ms: r.at_ms,
            at: time_text_ms(r.at_ms),
            endpoint: r.endpoint.clone(),
            service: r.service.clone(),
            merchant: r.merchant.clone(),
            out_trade_no: r.out_trade_no.clone(),
            eft_trade_no: r.eft_trade_no.clone(),
            return_status: r.return_status.clone(),
            latency_us: Some(r.latency_us),
            reason: r.reason.clone(),
        }
    }

    /// The entry of an accepted Place an Order, from its order.
    pub fn of_order(o: &Order, latency_us: Option<i64>) -> Self {
        Self {
            id: None,
            at_ms: order_at_ms(o),
            at: time_text_ms(order_at_ms(o)),
            endpoint: o.service.spec().endpoint.as_str().to_owned(),
            service: Some(o.service.label().to_owned()),
            merchant: Some(o.user_confirm_key.as_str().to_owned()),
            out_trade_no: Some(o.out_trade_no.as_str().to_owned()),
            eft_trade_no: Some(o.eft_trade_no.as_str().to_owned()),
            return_status: vmp_protocol::ReturnStatus::Accepted.code().to_owned(),
            latency_us,
            reason: None,
        }
    }
}

/// One logged request in full.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RequestDetail {
    /// The summary.
    pub request: RequestView,
    /// The body received, JSON (secrets and card numbers masked).
    pub body: Option<String>,
    /// The answer sent, JSON.
    pub answer: Option<String>,
    /// For a `10`: what the gateway signed and expected.
    pub sign_hint: Option<SignHintView>,
}

/// A page of the request log.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RequestPage {
    /// The requests: newest first, or (when following with `after`) oldest first.
    pub requests: Vec<RequestView>,
    /// Where the next page starts (`None`: nothing older).
    pub next: Option<String>,
    /// True when the page stopped early because a scan reached its bound:
    /// older requests may still match (follow `next`).
    pub partial: bool,
    /// The cursor to follow new requests from (`after=`), as of this page.
    pub follow: String,
}

/// A merchant (never its secret).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MerchantView {
    /// `user_confirm_key`.
    pub key: String,
    /// Display name.
    pub name: String,
    /// `active` or `disabled`.
    pub status: String,
    /// Created, UTC+8.
    pub created: String,
}

impl MerchantView {
    /// The view of a listed merchant.
    pub fn of(m: &MerchantSummary) -> Self {
        Self {
            key: m.key.clone(),
            name: m.name.clone(),
            status: m.status.as_str().to_owned(),
            created: time_text(m.created_at),
        }
    }
}

/// A merchant's credentials, answered once: when it is created or given a
/// new secret. The secret is never shown again.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct MerchantCredentials {
    /// `user_confirm_key`.
    pub key: String,
    /// The secret (shown once).
    pub secret: String,
}

/// What a test notification did.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TestNotificationResult {
    /// Where it went.
    pub url: String,
    /// The signed message as sent.
    pub body: String,
    /// The merchant's HTTP status, when it answered.
    pub http_status: Option<u16>,
    /// The first bytes of its answer.
    pub answer_excerpt: Option<String>,
    /// Why nothing was answered.
    pub error: Option<String>,
    /// Whether the answer was a valid success acknowledgement.
    pub acknowledged: bool,
    /// How long it took, ms.
    pub latency_ms: i64,
}

/// The sandbox clock.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ClockView {
    /// The gateway's time, UTC+8.
    pub now: String,
    /// How far the sandbox clock was moved ahead in total, seconds.
    pub offset_seconds: i64,
}

/// A short acknowledgement of an action.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Done {
    /// What was done, in English.
    pub message: String,
}

/// A merchant's sandbox fault rule (docs/protocol.md "Sandbox faults").
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FaultView {
    /// Its id.
    pub id: i64,
    /// The merchant it applies to.
    pub merchant: String,
    /// The rule as the sandbox API takes and shows it (`operation`,
    /// `return_status`, `delay_ms`, `notification`, `count`, `percent`,
    /// `remaining`, …).
    #[schema(value_type = Object)]
    pub rule: vmp_protocol::faults::FaultRuleSpec,
    /// The rule in words.
    pub summary: String,
    /// Firings left of a counted rule (`None`: a percentage rule).
    pub remaining: Option<i64>,
}

impl FaultView {
    /// The view of a stored rule.
    pub fn of(f: &crate::faults::StoredFault) -> Self {
        Self {
            id: f.id,
            merchant: f.user_confirm_key.clone(),
            rule: f.to_spec(),
            summary: f.rule.to_string(),
            remaining: f.remaining,
        }
    }
}
