//! Rows ↔ domain types, for both backends, in this one place: what a
//! column holds ([`Arg`]s for writes) and how it is read back (the
//! [`super::sql`] column lists name the same columns).
//!
//! A stored value that is not one of its type's spellings is
//! [`StoreError::Corrupt`]; the `CHECK` constraints keep such values out.

use secrecy::SecretString;
use vmp_protocol::catalogue::{Endpoint, PayScene, PayType, Service, Wallet};
use vmp_protocol::fields::{OutTradeNo, UserConfirmKey};
use vmp_protocol::{Amount, Currency};

use super::StoreError;
use super::console::{ListedNotification, LoggedRequest, StoredEvent};
use super::db::{Arg, Row};
use crate::domain::{
    Attempt, AttemptOutcome, AttemptRecord, Delivery, EftTradeNo, NewNotification, NewRefund, Notification, Order,
    OrderState, OutboxStatus, Refund, RefundEffect, RefundPlan, RefundState, SceneFields,
};
use crate::journal::{EventKind, OrderEvent, RequestRecord};
use crate::merchant::{Merchant, MerchantStatus, MerchantSummary};
use crate::vault::{KeyVersion, Sealed};

fn corrupt<E>(what: &'static str) -> impl FnOnce(E) -> StoreError {
    move |_| StoreError::Corrupt(what)
}

fn eft_trade_no(r: &dyn Row, what: &'static str) -> Result<EftTradeNo, StoreError> {
    EftTradeNo::from_string(r.text("eft_trade_no")?).map_err(corrupt(what))
}

fn user_confirm_key(r: &dyn Row, what: &'static str) -> Result<UserConfirmKey, StoreError> {
    UserConfirmKey::parse(&r.text("user_confirm_key")?).map_err(corrupt(what))
}

/// A stored service: its `service` name, or the endpoint of an
/// endpoint-only interface (what [`Service::label`] writes).
fn service(r: &dyn Row, what: &'static str) -> Result<Service, StoreError> {
    let label = r.text("service")?;
    Service::from_name(&label)
        .or_else(|| Endpoint::parse(&label).and_then(Service::for_endpoint))
        .ok_or(StoreError::Corrupt(what))
}

/// A nullable column of spellings: NULL is `None`, anything else must be
/// one of them.
fn optional<T>(
    r: &dyn Row,
    column: &str,
    parse: impl FnOnce(&str) -> Option<T>,
    what: &'static str,
) -> Result<Option<T>, StoreError> {
    r.opt_text(column)?.map(|v| parse(&v).ok_or(StoreError::Corrupt(what))).transpose()
}

fn amount(r: &dyn Row, what: &'static str) -> Result<Amount, StoreError> {
    Amount::from_minor(r.int("amount_minor")?).map_err(|_| StoreError::Corrupt(what))
}

/// The values of [`super::sql::INSERT_ORDER`], in its column order;
/// `scene_fields` is the stored form of the order's
/// [`crate::domain::SceneFields`] ([`scene_fields_text`]).
pub(crate) fn order_args<'a>(o: &'a Order, scene_fields: Option<&'a str>) -> [Arg<'a>; 27] {
    [
        Arg::Text(o.eft_trade_no.as_str()),
        Arg::Text(o.user_confirm_key.as_str()),
        Arg::Text(o.out_trade_no.as_str()),
        Arg::Text(&o.fingerprint),
        Arg::Text(o.service.label()),
        Arg::OptText(o.pay_type.map(PayType::as_str)),
        Arg::OptText(o.wallet.map(Wallet::as_str)),
        Arg::OptText(o.pay_scene.map(PayScene::as_str)),
        Arg::Text(&o.buyer_type),
        Arg::Int(o.amount.minor()),
        Arg::Text(&o.amount_text),
        Arg::Text(o.currency.code()),
        Arg::Text(&o.subject),
        Arg::OptText(o.body.as_deref()),
        Arg::OptText(o.tid.as_deref()),
        Arg::OptText(o.notify_url.as_deref()),
        Arg::OptText(o.return_url.as_deref()),
        Arg::OptText(o.lang.as_deref()),
        Arg::OptText(o.scheme.as_deref()),
        Arg::OptText(o.package_name.as_deref()),
        Arg::OptText(o.app_link.as_deref()),
        Arg::Int(o.active_time),
        Arg::Text(&o.request_time),
        Arg::Int(o.created_at),
        Arg::Int(o.expires_at),
        Arg::Text(o.state.as_str()),
        Arg::OptText(scene_fields),
    ]
}

/// The stored form of an order's scene fields (`None` for most orders).
pub(crate) fn scene_fields_text(o: &Order) -> Option<String> {
    o.scene_fields.as_ref().map(|s| s.to_json())
}

/// An order row.
pub(crate) fn order(r: &dyn Row) -> Result<Order, StoreError> {
    Ok(Order {
        eft_trade_no: eft_trade_no(r, "orders.eft_trade_no")?,
        user_confirm_key: user_confirm_key(r, "orders.user_confirm_key")?,
        out_trade_no: OutTradeNo::parse(&r.text("out_trade_no")?).map_err(corrupt("orders.out_trade_no"))?,
        fingerprint: r.text("fingerprint")?,
        service: service(r, "orders.service")?,
        // NULL until a cashier order's buyer chooses a wallet.
        pay_type: optional(r, "pay_type", PayType::parse, "orders.pay_type")?,
        wallet: optional(r, "wallet", Wallet::parse, "orders.wallet")?,
        // NULL for the scenes without a pay_scene (qrcode).
        pay_scene: optional(r, "pay_scene", PayScene::parse, "orders.pay_scene")?,
        buyer_type: r.text("buyer_type")?,
        amount: amount(r, "orders.amount_minor")?,
        amount_text: r.text("amount_text")?,
        currency: r.text("currency")?.parse::<Currency>().map_err(corrupt("orders.currency"))?,
        subject: r.text("subject")?,
        body: r.opt_text("body")?,
        tid: r.opt_text("tid")?,
        notify_url: r.opt_text("notify_url")?,
        return_url: r.opt_text("return_url")?,
        lang: r.opt_text("lang")?,
        scheme: r.opt_text("scheme")?,
        package_name: r.opt_text("package_name")?,
        app_link: r.opt_text("app_link")?,
        active_time: r.int("active_time")?,
        request_time: r.text("request_time")?,
        created_at: r.int("created_at")?,
        expires_at: r.int("expires_at")?,
        state: OrderState::parse(&r.text("state")?).ok_or(StoreError::Corrupt("orders.state"))?,
        final_at: r.opt_int("final_at")?,
        transaction_id: r.opt_text("transaction_id")?,
        card_scheme: r.opt_text("card_scheme")?,
        refunded_minor: r.int("refunded_minor")?,
        scene_fields: r
            .opt_text("scene_fields")?
            .map(|json| SceneFields::parse(&json).map(Box::new).map_err(corrupt("orders.scene_fields")))
            .transpose()?,
    })
}

/// The values of [`super::sql::INSERT_REFUND`].
pub(crate) fn refund_args<'a>(n: &'a NewRefund, plan: &RefundPlan) -> [Arg<'a>; 14] {
    [
        Arg::Text(n.eft_trade_no.as_str()),
        Arg::Text(n.user_confirm_key.as_str()),
        Arg::Text(&n.out_refund_no),
        Arg::Text(&n.fingerprint),
        Arg::Text(n.service.label()),
        Arg::Int(n.amount.minor()),
        Arg::Text(&n.amount_text),
        Arg::OptText(n.reason.as_deref()),
        Arg::Text(plan.state.as_str()),
        Arg::Text(plan.effect.as_str()),
        Arg::OptText(n.notify_url.as_deref()),
        Arg::Int(n.at),
        Arg::OptInt(n.complete_after),
        Arg::OptInt(plan.completed_at),
    ]
}

/// A refund row.
pub(crate) fn refund(r: &dyn Row) -> Result<Refund, StoreError> {
    Ok(Refund {
        id: r.int("id")?,
        eft_trade_no: eft_trade_no(r, "refunds.eft_trade_no")?,
        user_confirm_key: user_confirm_key(r, "refunds.user_confirm_key")?,
        out_refund_no: r.text("out_refund_no")?,
        fingerprint: r.text("fingerprint")?,
        service: service(r, "refunds.service")?,
        amount: amount(r, "refunds.amount_minor")?,
        amount_text: r.text("amount_text")?,
        reason: r.opt_text("reason")?,
        state: RefundState::parse(&r.text("status")?).ok_or(StoreError::Corrupt("refunds.status"))?,
        effect: RefundEffect::parse(&r.text("trade_status")?).ok_or(StoreError::Corrupt("refunds.trade_status"))?,
        notify_url: r.opt_text("notify_url")?,
        created_at: r.int("created_at")?,
        complete_after: r.opt_int("complete_after")?,
        completed_at: r.opt_int("completed_at")?,
    })
}

/// The values of [`super::sql::INSERT_NOTIFICATION`].
pub(crate) fn notification_args<'a>(
    eft_trade_no: &'a str,
    user_confirm_key: &'a str,
    n: &'a NewNotification,
    at: i64,
) -> [Arg<'a>; 8] {
    [
        Arg::Text(eft_trade_no),
        Arg::Text(user_confirm_key),
        Arg::Text(&n.url),
        Arg::Text(n.trade_status.as_str()),
        Arg::Text(&n.payload),
        Arg::Int(n.due_at),
        Arg::Int(at),
        Arg::Text(n.delivery.as_str()),
    ]
}

/// An outbox row.
pub(crate) fn notification(r: &dyn Row) -> Result<Notification, StoreError> {
    Ok(Notification {
        id: r.int("id")?,
        eft_trade_no: eft_trade_no(r, "notifications.eft_trade_no")?,
        user_confirm_key: user_confirm_key(r, "notifications.user_confirm_key")?,
        url: r.text("url")?,
        trade_status: OrderState::parse(&r.text("trade_status")?)
            .ok_or(StoreError::Corrupt("notifications.trade_status"))?,
        payload: r.text("payload")?,
        status: OutboxStatus::parse(&r.text("status")?).ok_or(StoreError::Corrupt("notifications.status"))?,
        attempts: r.int("attempts")?,
        next_attempt_at: r.int("next_attempt_at")?,
        delivered_at: r.opt_int("delivered_at")?,
        delivery: Delivery::parse(&r.text("delivery")?).ok_or(StoreError::Corrupt("notifications.delivery"))?,
    })
}

/// The values of [`super::sql::INSERT_ATTEMPT`].
pub(crate) fn attempt_args(a: &AttemptRecord) -> [Arg<'_>; 8] {
    [
        Arg::Int(a.notification_id),
        Arg::Int(a.attempt),
        Arg::Int(a.attempted_at),
        Arg::OptInt(a.http_status),
        Arg::Int(a.latency_ms),
        Arg::Text(a.outcome.as_str()),
        Arg::Text(&a.excerpt),
        Arg::OptText(a.body.as_deref()),
    ]
}

/// A recorded attempt.
pub(crate) fn attempt(r: &dyn Row) -> Result<Attempt, StoreError> {
    Ok(Attempt {
        attempt: r.int("attempt")?,
        attempted_at: r.int("attempted_at")?,
        http_status: r.opt_int("http_status")?,
        latency_ms: r.int("latency_ms")?,
        outcome: AttemptOutcome::parse(&r.text("outcome")?)
            .ok_or(StoreError::Corrupt("notification_attempts.outcome"))?,
        excerpt: r.text("excerpt")?,
        body: r.opt_text("body")?,
    })
}

/// The values of [`super::sql::ADD_MERCHANT`] (the secret is written here,
/// once, as sealed by the vault under key version `version`).
pub(crate) fn merchant_args<'a>(m: &'a Merchant, secret: &'a Sealed, ports: &'a str, created_at: i64) -> [Arg<'a>; 7] {
    [
        Arg::Text(&m.key),
        Arg::Text(&m.name),
        Arg::Text(secret.text()),
        Arg::Text(m.status.as_str()),
        Arg::Int(created_at),
        Arg::Text(ports),
        Arg::Int(secret.version),
    ]
}

fn merchant_status(r: &dyn Row) -> Result<MerchantStatus, StoreError> {
    MerchantStatus::parse(&r.text("status")?).ok_or(StoreError::Corrupt("merchants.status"))
}

/// A merchant row as stored: its secrets still sealed (see `StoredMerchant::open`).
pub(crate) struct StoredMerchant {
    /// The merchant, its secrets left empty.
    pub(crate) merchant: Merchant,
    /// The stored `secret`.
    pub(crate) secret: SecretString,
    /// The stored `previous_secret`, its `previous_until` and `previous_signs`.
    pub(crate) previous: Option<(SecretString, i64, bool)>,
}

/// A merchant row, secrets sealed.
pub(crate) fn merchant(r: &dyn Row) -> Result<StoredMerchant, StoreError> {
    let previous = match (r.opt_text("previous_secret")?, r.opt_int("previous_until")?) {
        (Some(secret), Some(until)) => Some((SecretString::from(secret), until, r.int("previous_signs")? == 1)),
        _ => None,
    };
    Ok(StoredMerchant {
        merchant: Merchant {
            key: r.text("user_confirm_key")?,
            name: r.text("name")?,
            secret: SecretString::from(String::new()),
            status: merchant_status(r)?,
            allowed_ports: crate::merchant::parse_ports(&r.text("allowed_ports")?),
            previous: None,
        },
        secret: SecretString::from(r.text("secret")?),
        previous,
    })
}

/// A merchant's stored secrets, for re-sealing: key, `secret`, `previous_secret`.
pub(crate) fn merchant_secrets(r: &dyn Row) -> Result<(String, SecretString, Option<SecretString>), StoreError> {
    Ok((
        r.text("user_confirm_key")?,
        SecretString::from(r.text("secret")?),
        r.opt_text("previous_secret")?.map(SecretString::from),
    ))
}

/// A master key version row.
pub(crate) fn key_version(r: &dyn Row) -> Result<KeyVersion, StoreError> {
    Ok(KeyVersion { version: r.int("version")?, check: r.text("key_check")?, retired_at: r.opt_int("retired_at")? })
}

/// A merchant list row.
pub(crate) fn merchant_summary(r: &dyn Row) -> Result<MerchantSummary, StoreError> {
    Ok(MerchantSummary {
        key: r.text("user_confirm_key")?,
        name: r.text("name")?,
        status: merchant_status(r)?,
        created_at: r.int("created_at")?,
    })
}

/// The `(eft_trade_no, user_confirm_key)` a completed refund returns.
pub(crate) fn refund_owner(r: &dyn Row) -> Result<(String, String), StoreError> {
    Ok((r.text("eft_trade_no")?, r.text("user_confirm_key")?))
}

/// A single-column count or sum.
pub(crate) fn count(r: &dyn Row) -> Result<i64, StoreError> {
    r.int("n")
}

/// A single-column text value.
pub(crate) fn value(r: &dyn Row) -> Result<String, StoreError> {
    r.text("value")
}

/// The refund total of an order.
pub(crate) fn total(r: &dyn Row) -> Result<i64, StoreError> {
    r.int("total")
}

/// A stored sandbox fault rule; a rule that no longer parses is corrupt.
pub(crate) fn fault(r: &dyn Row) -> Result<crate::faults::StoredFault, StoreError> {
    let rule = vmp_protocol::faults::FaultRule::from_json(r.text("rule")?.as_bytes())
        .map_err(|_| StoreError::Corrupt("sandbox_faults.rule"))?;
    Ok(crate::faults::StoredFault {
        id: r.int("id")?,
        user_confirm_key: r.text("user_confirm_key")?,
        rule,
        remaining: r.opt_int("remaining")?,
        created_at: r.int("created_at")?,
    })
}

/// The remaining count a consumed fault rule returns.
pub(crate) fn remaining(r: &dyn Row) -> Result<i64, StoreError> {
    r.int("remaining")
}

/// The values of [`super::sql::ADD_FAULT`]: the rule as its JSON, and the
/// count a counted rule starts from.
pub(crate) fn fault_args<'a>(key: &'a str, rule_json: &'a str, remaining: Option<i64>, at: i64) -> [Arg<'a>; 4] {
    [Arg::Text(key), Arg::Text(rule_json), Arg::OptInt(remaining), Arg::Int(at)]
}

// ---- the developer console ----

/// The values of [`super::sql::INSERT_REQUEST`].
pub(crate) fn request_args(r: &RequestRecord) -> [Arg<'_>; 12] {
    [
        Arg::Int(r.at_ms),
        Arg::Int(r.latency_us),
        Arg::Text(&r.endpoint),
        Arg::OptText(r.service.as_deref()),
        Arg::OptText(r.merchant.as_deref()),
        Arg::OptText(r.out_trade_no.as_deref()),
        Arg::OptText(r.eft_trade_no.as_deref()),
        Arg::Text(&r.return_status),
        Arg::OptText(r.reason.as_deref()),
        Arg::OptText(r.request.as_deref()),
        Arg::OptText(r.answer.as_deref()),
        Arg::OptText(r.sign_hint.as_deref()),
    ]
}

/// A request log record with its id.
pub(crate) fn logged_request(r: &dyn Row) -> Result<LoggedRequest, StoreError> {
    Ok(LoggedRequest {
        id: r.int("id")?,
        record: RequestRecord {
            at_ms: r.int("at_ms")?,
            latency_us: r.int("latency_us")?,
            endpoint: r.text("endpoint")?,
            service: r.opt_text("service")?,
            merchant: r.opt_text("merchant")?,
            out_trade_no: r.opt_text("out_trade_no")?,
            eft_trade_no: r.opt_text("eft_trade_no")?,
            return_status: r.text("return_status")?,
            reason: r.opt_text("reason")?,
            request: r.opt_text("request")?,
            answer: r.opt_text("answer")?,
            sign_hint: r.opt_text("sign_hint")?,
        },
    })
}

/// The values of [`super::sql::INSERT_EVENT`].
pub(crate) fn event_args(e: &OrderEvent) -> [Arg<'_>; 4] {
    [Arg::Text(&e.eft_trade_no), Arg::Int(e.at_ms), Arg::Text(e.kind.as_str()), Arg::Text(&e.detail)]
}

/// An order event with its id.
pub(crate) fn stored_event(r: &dyn Row) -> Result<StoredEvent, StoreError> {
    Ok(StoredEvent {
        id: r.int("id")?,
        event: OrderEvent {
            eft_trade_no: r.text("eft_trade_no")?,
            at_ms: r.int("at_ms")?,
            kind: EventKind::parse(&r.text("kind")?).ok_or(StoreError::Corrupt("order_events.kind"))?,
            detail: r.text("detail")?,
        },
    })
}

/// An outbox row with when it was queued.
pub(crate) fn listed_notification(r: &dyn Row) -> Result<ListedNotification, StoreError> {
    Ok(ListedNotification { notification: notification(r)?, created_at: r.int("created_at")? })
}

/// How far a bounded scan looked: rows scanned, lowest key (integer).
pub(crate) fn scan_edge_int(r: &dyn Row) -> Result<(i64, Option<i64>), StoreError> {
    Ok((r.int("n")?, r.opt_int("low")?))
}

/// How far a bounded scan looked: rows scanned, lowest key (text).
pub(crate) fn scan_edge_text(r: &dyn Row) -> Result<(i64, Option<String>), StoreError> {
    Ok((r.int("n")?, r.opt_text("low")?))
}

/// A single nullable integer named `low`.
pub(crate) fn low(r: &dyn Row) -> Result<Option<i64>, StoreError> {
    r.opt_int("low")
}

/// The lowest and highest `eft_trade_no`.
pub(crate) fn key_range(r: &dyn Row) -> Result<Option<(String, String)>, StoreError> {
    Ok(r.opt_text("lo")?.zip(r.opt_text("hi")?))
}
