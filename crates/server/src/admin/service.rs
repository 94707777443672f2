//! The console's operations, shared by the HTML pages (`crate::console`)
//! and the JSON API (`super::api`): every input is validated here, with
//! a message that names the field; every failure is an [`AdminError`].

use std::cmp::Reverse;

use axum::http::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time};
use utoipa::{IntoParams, ToSchema};
use vmp_protocol::answer;
use vmp_protocol::fields::{BuyerType, Lang, UserConfirmKey};
use vmp_protocol::notify::is_ack_success;
use vmp_protocol::request::{PlaceOrder, Request, envelope};
use vmp_protocol::status::TradeType;
use vmp_protocol::vmptime::{VMP_OFFSET, VmpTime, format_time};
use vmp_protocol::{Amount, Endpoint, Params, ReturnStatus, Service, TradeNotification};

use super::Admin;
use super::views::{
    AttemptView, ClockView, Done, FaultView, MerchantCredentials, MerchantView, NotificationPage, NotificationView,
    OrderDetail, OrderPage, OrderView, RefundView, RequestDetail, RequestPage, RequestView, SignHintView,
    TestNotificationResult, TimelineEntry, order_at_ms, time_text, time_text_ms,
};
use crate::config::Mode;
use crate::domain::{Order, OrderState, OutboxStatus};
use crate::journal::{self, EventKind};
use crate::lifecycle::{self, ActionResult, BuyerAction};
use crate::merchant::{Merchant, MerchantStatus};
use crate::state::AppState;
use crate::store::{LoggedRequest, NewMerchant, NotificationQuery, OrderScan, RequestScan, StoreError};

/// Rows a list page looks at, at most, below its cursor.
pub const SCAN_BUDGET: i64 = 2_000;
/// Rows per page unless `limit` says otherwise.
pub const DEFAULT_LIMIT: i64 = 50;
/// Most rows per page.
pub const MAX_LIMIT: i64 = 200;
/// Above every `eft_trade_no` (29 nines: longer than the longest, 28 digits).
const TOP: &str = "99999999999999999999999999999";

/// A refused or failed console/admin request: the HTTP status and what to
/// tell the user. Nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong, in English, naming the field at fault.
    pub message: String,
}

impl AdminError {
    /// 400: an input is not valid.
    pub fn bad(message: impl Into<String>) -> Self {
        Self { status: StatusCode::BAD_REQUEST, message: message.into() }
    }

    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self { status: StatusCode::NOT_FOUND, message: message.into() }
    }

    /// 409: not possible in the current state.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self { status: StatusCode::CONFLICT, message: message.into() }
    }
}

impl std::fmt::Display for AdminError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        crate::metrics::database_error("request");
        tracing::error!(error.message = %e, error.cause_chain = ?e, "console request failed in the store");
        Self { status: StatusCode::SERVICE_UNAVAILABLE, message: "the store is unavailable; please retry".into() }
    }
}

/// Result of a console operation.
pub type AdminResult<T> = Result<T, AdminError>;

// ---- input ----

/// An optional form or query field: absent and empty are the same.
fn given(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

fn merchant_key(field: &str, v: &Option<String>) -> AdminResult<Option<String>> {
    given(v)
        .map(|k| {
            UserConfirmKey::parse(k).map(|k| k.as_str().to_owned()).map_err(|_| {
                AdminError::bad(format!(
                    "{field}: {k:?} is not a user_confirm_key (at most 12 printable ASCII characters, no spaces)"
                ))
            })
        })
        .transpose()
}

fn service_label(v: &Option<String>) -> AdminResult<Option<Service>> {
    given(v)
        .map(|s| {
            Service::from_name(s)
                .or_else(|| Endpoint::parse(s).and_then(Service::for_endpoint))
                .ok_or_else(|| AdminError::bad(format!("service: {:?} is no service of the catalogue", clip(s))))
        })
        .transpose()
}

fn limit(v: &Option<String>) -> AdminResult<i64> {
    match given(v) {
        None => Ok(DEFAULT_LIMIT),
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| AdminError::bad(format!("limit: must be a whole number from 1 to {MAX_LIMIT}"))),
    }
}

fn clip(s: &str) -> String {
    s.chars().take(40).collect()
}

/// A date or date-time in UTC+8 (`2026-11-26`, `2026-11-26T14:22`,
/// `2026-11-26 14:22:05`), as unix seconds; a date alone is its midnight,
/// or with `end_of_day` the next midnight.
fn date_time(field: &str, v: &Option<String>, end_of_day: bool) -> AdminResult<Option<i64>> {
    let Some(s) = given(v) else { return Ok(None) };
    let bad = || AdminError::bad(format!("{field}: {:?} is not YYYY-MM-DD or YYYY-MM-DDTHH:MM (UTC+8)", clip(s)));
    let date_only = format_description!("[year]-[month]-[day]");
    let with_minutes = format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let with_seconds = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    let normalized = s.replacen(' ', "T", 1);
    let at = if let Ok(d) = Date::parse(s, date_only) {
        let midnight = PrimitiveDateTime::new(d, Time::MIDNIGHT);
        if end_of_day { midnight + time::Duration::days(1) } else { midnight }
    } else if let Ok(t) = PrimitiveDateTime::parse(&normalized, with_minutes) {
        t
    } else {
        PrimitiveDateTime::parse(&normalized, with_seconds).map_err(|_| bad())?
    };
    Ok(Some(at.assume_offset(VMP_OFFSET).unix_timestamp()))
}

/// The 15 time digits of an `eft_trade_no` issued at `unix` (see `ids`).
fn eft_time_digits(unix: i64) -> Option<String> {
    let t = OffsetDateTime::from_unix_timestamp(unix).ok()?.to_offset(VMP_OFFSET);
    Some(format!(
        "{:02}{:02}{:02}{:02}{:02}{:02}000",
        t.year().rem_euclid(100),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    ))
}

fn digits_only(s: &str, max: usize) -> bool {
    !s.is_empty() && s.len() <= max && s.bytes().all(|b| b.is_ascii_digit())
}

fn cursor_error() -> AdminError {
    AdminError::bad("cursor: not a cursor this gateway issued (start again from the first page)")
}

// ---- orders ----

/// Filters of the order list (`GET /admin/api/orders`, `/console/orders`).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OrderQuery {
    /// Only this merchant's orders (`user_confirm_key`).
    pub merchant: Option<String>,
    /// Only orders of this `service` (or endpoint-only interface).
    pub service: Option<String>,
    /// Only orders in this state: `PENDING` (or `TRADE_PROCESSING`),
    /// `TRADE_SUCCESS`, `TRADE_FAIL`, `TRADE_CLOSED`, `TRADE_REFUND`.
    pub state: Option<String>,
    /// Only orders created at or after (UTC+8: `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM`).
    pub from: Option<String>,
    /// Only orders created before (a date alone: up to its end).
    pub to: Option<String>,
    /// Search: an `out_trade_no` (any merchant) or an `eft_trade_no`.
    pub q: Option<String>,
    /// Where the page starts (`next` of the previous page).
    pub cursor: Option<String>,
    /// Orders per page (1–200, default 50).
    pub limit: Option<String>,
}

/// A validated [`OrderQuery`].
#[derive(Debug)]
struct OrderFilter {
    merchant: Option<String>,
    service: Option<Service>,
    state: Option<OrderState>,
    from: Option<i64>,
    to: Option<i64>,
    search: Option<String>,
    below: Option<String>,
    limit: i64,
}

impl OrderFilter {
    fn parse(q: &OrderQuery) -> AdminResult<Self> {
        let state = given(&q.state)
            .map(|s| match s {
                "TRADE_PROCESSING" => Ok(OrderState::Pending),
                other => OrderState::parse(other).ok_or_else(|| {
                    AdminError::bad(format!("state: {:?} is not one of {}", clip(other), OrderState::spellings()))
                }),
            })
            .transpose()?;
        let (from, to) = (date_time("from", &q.from, false)?, date_time("to", &q.to, true)?);
        if let (Some(f), Some(t)) = (from, to)
            && f >= t
        {
            return Err(AdminError::bad("from: must be before to"));
        }
        let search = given(&q.q)
            .map(|s| {
                if s.chars().count() > 64 || s.chars().any(char::is_control) {
                    Err(AdminError::bad("q: an out_trade_no or eft_trade_no, at most 64 characters"))
                } else {
                    Ok(s.to_owned())
                }
            })
            .transpose()?;
        let below = given(&q.cursor)
            .map(|c| c.strip_prefix('o').filter(|d| digits_only(d, 29)).map(str::to_owned).ok_or_else(cursor_error))
            .transpose()?;
        Ok(Self {
            merchant: merchant_key("merchant", &q.merchant)?,
            service: service_label(&q.service)?,
            state,
            from,
            to,
            search,
            below,
            limit: limit(&q.limit)?,
        })
    }

    fn matches(&self, o: &Order) -> bool {
        self.merchant.as_deref().is_none_or(|m| o.user_confirm_key.as_str() == m)
            && self.service.is_none_or(|s| o.service == s)
            && self.state.is_none_or(|s| o.state == s)
            && self.from.is_none_or(|f| o.created_at >= f)
            && self.to.is_none_or(|t| o.created_at < t)
    }
}

/// A page of orders, newest first.
///
/// # Errors
/// [`AdminError`] for an invalid filter or a failing store.
pub async fn orders(state: &AppState, q: &OrderQuery) -> AdminResult<OrderPage> {
    let f = OrderFilter::parse(q)?;
    let now = state.clock().now().unix_timestamp();
    if let Some(search) = &f.search {
        let found = state.store().search_orders(search).await?;
        let orders = found.iter().filter(|o| f.matches(o)).map(|o| OrderView::of(o, now)).collect();
        return Ok(OrderPage { orders, next: None, partial: false });
    }
    let mut below = f.below.clone().unwrap_or_else(|| TOP.to_owned());
    let mut floor = String::new();
    // On a store with one instance's orders (every SQLite store), a date
    // range is a range of eft_trade_no: its digits after the node id are
    // the creation time.
    if (f.from.is_some() || f.to.is_some())
        && let Some((lo, hi)) = state.store().order_key_range().await?
        && lo.len() == 23
        && hi.len() == 23
        && lo.get(..2) == hi.get(..2)
    {
        let node = &lo[..2];
        if let Some(to) = f.to.and_then(eft_time_digits) {
            below = below.min(format!("{node}{to}"));
        }
        if let Some(from) = f.from.and_then(eft_time_digits) {
            floor = format!("{node}{from}");
        }
    }
    let scan = OrderScan {
        below,
        floor,
        budget: SCAN_BUDGET,
        limit: f.limit + 1,
        merchant: f.merchant.clone(),
        service: f.service.map(|s| s.label().to_owned()),
        state: f.state,
        from: f.from,
        to: f.to,
    };
    let found = state.store().scan_orders(&scan).await?;
    let more = found.items.len() > usize::try_from(f.limit).unwrap_or(0);
    let items: Vec<&Order> = found.items.iter().take(usize::try_from(f.limit).unwrap_or(0)).collect();
    let (next, partial) = if more {
        (items.last().map(|o| format!("o{}", o.eft_trade_no)), false)
    } else if found.exhausted {
        (None, false)
    } else {
        (found.low.map(|low| format!("o{low}")), true)
    };
    Ok(OrderPage { orders: items.into_iter().map(|o| OrderView::of(o, now)).collect(), next, partial })
}

fn eft_param(eft_trade_no: &str) -> AdminResult<&str> {
    if digits_only(eft_trade_no, 28) {
        Ok(eft_trade_no)
    } else {
        Err(AdminError::bad("eft_trade_no: digits only, 1 to 28 of them"))
    }
}

async fn order_of(state: &AppState, eft_trade_no: &str) -> AdminResult<Order> {
    let eft = eft_param(eft_trade_no)?;
    state
        .store()
        .order_by_eft_trade_no(eft)
        .await?
        .ok_or_else(|| AdminError::not_found(format!("no order with eft_trade_no {eft}")))
}

/// An order with its timeline, notifications (with attempts) and refunds.
///
/// # Errors
/// [`AdminError`]: 400 for a malformed number, 404 when there is no such order.
pub async fn order_detail(state: &AppState, eft_trade_no: &str) -> AdminResult<OrderDetail> {
    let order = order_of(state, eft_trade_no).await?;
    let store = state.store();
    store.flush_journal().await?;
    let eft = order.eft_trade_no.as_str();
    let now = state.clock().now().unix_timestamp();
    let mut timeline = vec![placement(state, &order)];
    for r in store.requests_of_order(order.user_confirm_key.as_str(), order.out_trade_no.as_str()).await? {
        timeline.push(request_entry(&r));
    }
    for e in store.events_of_order(eft).await? {
        let ev = e.event;
        timeline.push(entry(
            ev.at_ms,
            ev.kind.as_str(),
            event_summary(ev.kind, &ev.detail),
            Some(pretty(&ev.detail)),
            None,
        ));
    }
    if let Some(at) = order.final_at {
        let mut summary = format!("{} → {}", OrderState::Pending.wire_str(), order_final_state(&order));
        if let Some(t) = &order.transaction_id {
            summary.push_str(&format!(" (transaction {t})"));
        }
        if let Some(c) = &order.card_scheme {
            summary.push_str(&format!(", {c}"));
        }
        timeline.push(entry(at * 1000, "settled", summary, None, None));
    }
    let mut notifications = Vec::new();
    for n in store.notifications_for_order(eft).await? {
        let listed = store.notification_by_id(n.id).await?;
        let created = listed.as_ref().map_or(n.next_attempt_at, |l| l.created_at);
        timeline.push(entry(
            created * 1000,
            "notification_queued",
            format!("notification #{} queued: {} to {}", n.id, n.trade_status.wire_str(), n.url),
            Some(pretty(&n.payload)),
            None,
        ));
        let attempts = store.attempts_for_notification(n.id).await?;
        let mut view = match &listed {
            Some(l) => NotificationView::of(l),
            None => continue,
        };
        for a in &attempts {
            let v = AttemptView::of(a);
            let status = a.http_status.map_or_else(|| "no answer".to_owned(), |s| format!("HTTP {s}"));
            timeline.push(TimelineEntry {
                at_ms: a.attempted_at * 1000,
                at: time_text(a.attempted_at),
                kind: "notification_attempt".into(),
                summary: format!(
                    "notification #{} attempt {}: {} in {} ms ({})",
                    n.id,
                    a.attempt,
                    status,
                    a.latency_ms,
                    a.outcome.as_str()
                ),
                sent: a.body.as_deref().map(pretty),
                answer: v.error.clone().or_else(|| v.answer_excerpt.clone()),
                detail: None,
                request_id: None,
            });
            view.attempt_log.push(v);
        }
        notifications.push(view);
    }
    let mut refunds = Vec::new();
    for r in store.refunds_of_order(eft).await? {
        timeline.push(entry(
            r.created_at * 1000,
            "refund",
            format!("refund {} of {} ({})", r.out_refund_no, r.amount_text, r.state.as_str()),
            None,
            None,
        ));
        if let (Some(done), Some(_)) = (r.completed_at, r.complete_after) {
            timeline.push(entry(
                done * 1000,
                "refund_completed",
                format!("refund {} completed", r.out_refund_no),
                None,
                None,
            ));
        }
        refunds.push(RefundView::of(&r));
    }
    // By the second: settlement, notifications and refunds are stamped in
    // whole seconds, the request in milliseconds; a stable sort keeps the
    // entries of one second in the order added (the order's request first).
    timeline.sort_by_key(|e| e.at_ms.div_euclid(1000));
    Ok(OrderDetail { order: OrderView::of(&order, now), timeline, notifications, refunds })
}

fn order_final_state(o: &Order) -> &'static str {
    // A refunded order's state moved on after settlement; what it settled
    // to was a payment.
    match o.state {
        OrderState::PartlyRefunded => OrderState::Paid.wire_str(),
        OrderState::Closed if o.refunded_minor > 0 => OrderState::Paid.wire_str(),
        s => s.wire_str(),
    }
}

fn entry(at_ms: i64, kind: &str, summary: String, sent: Option<String>, answer: Option<String>) -> TimelineEntry {
    TimelineEntry {
        at_ms,
        at: time_text_ms(at_ms),
        kind: kind.to_owned(),
        summary,
        sent,
        answer,
        detail: None,
        request_id: None,
    }
}

fn event_summary(kind: EventKind, detail: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(detail).unwrap_or_default();
    let s = |k: &str| v.get(k).and_then(serde_json::Value::as_str).unwrap_or("").to_owned();
    match kind {
        EventKind::PageView => format!("pay page shown ({})", s("page")),
        EventKind::BuyerAction => format!("buyer chose {} → {}", s("action"), s("result")),
        EventKind::SandboxAction => format!("sandbox API: {} → {}", s("action"), s("result")),
        EventKind::ConsoleAction => format!("console: {}", s("action")),
    }
}

/// JSON text, indented (as it was when it is not JSON).
fn pretty(json: &str) -> String {
    serde_json::from_str::<serde_json::Value>(json)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| json.to_owned())
}

/// The accepted Place an Order, rebuilt from the stored order: its fields
/// as accepted and the answer it got (`time` and `sign` left out).
fn placement(state: &AppState, o: &Order) -> TimelineEntry {
    let request = placed_request(o).map(|p| pretty(&p.to_json()));
    let answer = crate::orders::answer_for(state, o.clone()).ok().map(|placed| {
        let mut out = answer::unsigned(ReturnStatus::Accepted, "");
        out.append(placed.into_params());
        pretty(&out.to_json())
    });
    let latency = state.latency_memo().get(o.eft_trade_no.as_str());
    let took = latency.map_or_else(String::new, |us| format!(" in {:.1} ms", us as f64 / 1000.0));
    TimelineEntry {
        at_ms: order_at_ms(o),
        at: time_text_ms(order_at_ms(o)),
        kind: "request".into(),
        summary: format!("Place an Order ({}) → 00{took}", o.service.label()),
        sent: request,
        answer,
        detail: None,
        request_id: None,
    }
}

/// The request an order was placed with, as the gateway accepted it.
fn placed_request(o: &Order) -> Option<Params> {
    let mut b = PlaceOrder::builder(o.service)
        .out_trade_no(o.out_trade_no.as_str())
        .amount(o.amount)
        .subject(o.subject.clone())
        .wallet(o.wallet?)
        .pay_type(o.pay_type?)
        .currency(o.currency)
        .buyer_type(BuyerType::parse(&o.buyer_type).ok()?)
        .pay_scene(o.pay_scene?)
        .active_time(u32::try_from(o.active_time).ok()?);
    for (value, set) in [
        (&o.body, PlaceOrderField::Body),
        (&o.tid, PlaceOrderField::Tid),
        (&o.notify_url, PlaceOrderField::NotifyUrl),
        (&o.return_url, PlaceOrderField::ReturnUrl),
        (&o.scheme, PlaceOrderField::Scheme),
        (&o.package_name, PlaceOrderField::PackageName),
        (&o.app_link, PlaceOrderField::AppLink),
    ] {
        if let Some(v) = value {
            b = set.apply(b, v.clone());
        }
    }
    if let Some(lang) = o.lang.as_deref().and_then(Lang::parse) {
        b = b.lang(lang);
    }
    let fields = Request::PlaceOrder(b.build().ok()?).to_params();
    let sent_at = VmpTime::parse(&o.request_time).ok()?.datetime();
    let mut p = envelope(fields, o.user_confirm_key.as_str(), sent_at);
    // Echoed exactly as sent ("0.1" stays "0.1").
    p.set("transaction_amount", &o.amount_text);
    Some(p)
}

/// The optional text fields of a Place an Order, to set them in a loop.
#[derive(Clone, Copy)]
enum PlaceOrderField {
    Body,
    Tid,
    NotifyUrl,
    ReturnUrl,
    Scheme,
    PackageName,
    AppLink,
}

impl PlaceOrderField {
    fn apply(self, b: vmp_protocol::request::PlaceOrderBuilder, v: String) -> vmp_protocol::request::PlaceOrderBuilder {
        match self {
            Self::Body => b.body(v),
            Self::Tid => b.tid(v),
            Self::NotifyUrl => b.notify_url(v),
            Self::ReturnUrl => b.return_url(v),
            Self::Scheme => b.scheme(v),
            Self::PackageName => b.package_name(v),
            Self::AppLink => b.app_link(v),
        }
    }
}

fn request_entry(r: &LoggedRequest) -> TimelineEntry {
    let rec = &r.record;
    let mut summary =
        format!("{} ({}) → {}", rec.endpoint, rec.service.as_deref().unwrap_or("no service"), rec.return_status);
    if let Some(reason) = &rec.reason {
        summary.push_str(&format!(": {reason}"));
    }
    TimelineEntry {
        at_ms: rec.at_ms,
        at: time_text_ms(rec.at_ms),
        kind: "request".into(),
        summary,
        sent: rec.request.as_deref().map(pretty),
        answer: rec.answer.as_deref().map(pretty),
        detail: rec.sign_hint.as_deref().map(pretty),
        request_id: Some(r.id),
    }
}

// ---- the request log ----

/// Filters of the request log (`GET /admin/api/requests`, `/console/requests`).
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RequestQuery {
    /// Only this merchant's requests (`user_confirm_key` as sent).
    pub merchant: Option<String>,
    /// Only this `return_status` (`00`, `10`, `-13`, …), or `refused` for
    /// anything but `00`.
    pub status: Option<String>,
    /// Only this `service`.
    pub service: Option<String>,
    /// Only this servlet (`JSAPIService.do`, `QRcodeTradeQuery.do`, …).
    pub endpoint: Option<String>,
    /// Where the page starts (`next` of the previous page).
    pub cursor: Option<String>,
    /// Follow: only requests after this cursor (`follow` of a page), oldest
    /// first (`vmp requests tail`). Filters other than `merchant` are
    /// ignored while following.
    pub after: Option<String>,
    /// Requests per page (1–200, default 50).
    pub limit: Option<String>,
}

/// A validated [`RequestQuery`].
#[derive(Debug)]
struct RequestFilter {
    merchant: Option<String>,
    status: Option<String>,
    refused_only: bool,
    service: Option<String>,
    endpoint: Option<Endpoint>,
    cursor: Option<(Option<i64>, Option<String>)>,
    after: Option<(i64, String)>,
    limit: i64,
}

fn parse_pair(c: &str, prefix: char) -> Option<(&str, &str)> {
    c.strip_prefix(prefix)?.split_once('_')
}

impl RequestFilter {
    fn parse(q: &RequestQuery) -> AdminResult<Self> {
        let (status, refused_only) = match given(&q.status) {
            None => (None, false),
            Some("refused") => (None, true),
            Some(s) => match ReturnStatus::ALL.iter().find(|r| r.code() == s) {
                Some(r) => (Some(r.code().to_owned()), false),
                None => {
                    return Err(AdminError::bad(format!(
                        "status: {:?} is no return_status (00, 10, -13, …) nor \"refused\"",
                        clip(s)
                    )));
                }
            },
        };
        let endpoint = given(&q.endpoint)
            .map(|e| {
                Endpoint::parse(e).ok_or_else(|| {
                    AdminError::bad(format!("endpoint: {:?} is not one of {}", clip(e), Endpoint::spellings()))
                })
            })
            .transpose()?;
        let cursor = given(&q.cursor)
            .map(|c| {
                let (a, b) = parse_pair(c, 'd').ok_or_else(cursor_error)?;
                let a = match a {
                    "x" => None,
                    n => Some(n.parse::<i64>().map_err(|_| cursor_error())?),
                };
                let b = match b {
                    "x" => None,
                    d if digits_only(d, 29) => Some(d.to_owned()),
                    _ => return Err(cursor_error()),
                };
                Ok((a, b))
            })
            .transpose()?;
        let after = given(&q.after)
            .map(|c| {
                let (a, b) = parse_pair(c, 't').ok_or_else(cursor_error)?;
                let a = a.parse::<i64>().map_err(|_| cursor_error())?;
                if !(b.is_empty() || digits_only(b, 28)) {
                    return Err(cursor_error());
                }
                Ok((a, b.to_owned()))
            })
            .transpose()?;
        Ok(Self {
            merchant: given(&q.merchant).map(|m| m.chars().take(64).collect()),
            status,
            refused_only,
            service: service_label(&q.service)?.map(|s| s.label().to_owned()),
            endpoint,
            cursor,
            after,
            limit: limit(&q.limit)?,
        })
    }

    /// Whether accepted Place an Order requests (orders) can match.
    fn includes_orders(&self) -> bool {
        !self.refused_only
            && self.status.as_deref().is_none_or(|s| s == ReturnStatus::Accepted.code())
            && self.service.as_deref().is_none_or(|s| Service::from_name(s).is_some_and(is_sale))
            && self.endpoint.is_none_or(|e| Service::ALL.iter().any(|s| is_sale(*s) && s.spec().endpoint == e))
    }

    fn order_matches(&self, o: &Order) -> bool {
        self.endpoint.is_none_or(|e| o.service.spec().endpoint == e)
    }
}

fn is_sale(s: Service) -> bool {
    s.spec().op == vmp_protocol::catalogue::Operation::Sale
}

/// One entry of a merged page: its time, which source, its key.
struct Merged {
    at_ms: i64,
    view: RequestView,
    from_log: bool,
}

/// A page of the request log: the log's records and accepted Place an
/// Order requests (orders), merged newest first, or, with `after`, what
/// came after a `follow` cursor, oldest first.
///
/// # Errors
/// [`AdminError`] for an invalid filter or cursor, or a failing store.
pub async fn requests(state: &AppState, q: &RequestQuery) -> AdminResult<RequestPage> {
    let f = RequestFilter::parse(q)?;
    let store = state.store();
    store.flush_journal().await?;
    let follow = follow_cursor(state).await?;
    let Some(retention) = state.journal_settings().retention else {
        return Ok(RequestPage { requests: Vec::new(), next: None, partial: false, follow });
    };
    let now_ms = i64::try_from(state.clock().now().unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
    let since_ms = now_ms - i64::try_from(retention.as_millis()).unwrap_or(i64::MAX);
    if let Some(after) = &f.after {
        return tail(state, &f, after, since_ms, follow).await;
    }
    let page = usize::try_from(f.limit).unwrap_or(0);
    let (log_below, orders_below) = f.cursor.clone().unwrap_or((Some(i64::MAX), Some(TOP.to_owned())));
    // Each source: its matches, and the time down to which it is complete
    // (`None`: complete to the end).
    let mut items: Vec<Merged> = Vec::new();
    let (mut log_frontier, mut log_done, mut log_low) = (None, true, None);
    let mut log_count = 0;
    if let Some(below) = log_below {
        let s = store
            .scan_requests(&RequestScan {
                below,
                budget: SCAN_BUDGET,
                limit: f.limit + 1,
                merchant: f.merchant.clone(),
                return_status: f.status.clone(),
                refused_only: f.refused_only,
                service: f.service.clone(),
                endpoint: f.endpoint.map(|e| e.as_str().to_owned()),
                since_ms,
            })
            .await?;
        log_count = s.items.len();
        if s.items.len() > page {
            log_frontier = s.items.last().map(|r| r.record.at_ms);
            log_done = false;
        } else if !s.exhausted {
            log_done = false;
            log_low = s.low;
            log_frontier = match s.low {
                Some(low) => store.logged_request(low).await?.map(|r| r.record.at_ms),
                None => None,
            };
        }
        items.extend(s.items.iter().map(|r| Merged {
            at_ms: r.record.at_ms,
            view: RequestView::of(r),
            from_log: true,
        }));
    }
    let (mut orders_frontier, mut orders_done, mut orders_low) = (None, true, None);
    let mut orders_count = 0;
    if let Some(below) = orders_below.filter(|_| f.includes_orders()) {
        let s = store
            .scan_orders(&OrderScan {
                below,
                floor: String::new(),
                budget: SCAN_BUDGET,
                limit: f.limit + 1,
                merchant: f.merchant.clone(),
                service: f.service.clone(),
                state: None,
                from: Some(since_ms.div_euclid(1000)),
                to: None,
            })
            .await?;
        orders_count = s.items.len();
        if s.items.len() > page {
            orders_frontier = s.items.last().map(order_at_ms);
            orders_done = false;
        } else if !s.exhausted {
            orders_done = false;
            orders_low.clone_from(&s.low);
            orders_frontier = match &s.low {
                Some(low) => store.order_by_eft_trade_no(low).await?.as_ref().map(order_at_ms),
                None => None,
            };
            // Past the retention window: nothing older can match.
            if orders_frontier.is_some_and(|t| t < since_ms) {
                orders_done = true;
                orders_frontier = None;
            }
        }
        let memo = state.latency_memo();
        items.extend(s.items.iter().filter(|o| f.order_matches(o)).map(|o| Merged {
            at_ms: order_at_ms(o),
            view: RequestView::of_order(o, memo.get(o.eft_trade_no.as_str())),
            from_log: false,
        }));
    }
    items.sort_by_key(|m| Reverse((m.at_ms, m.from_log)));
    let floor = log_frontier.max(orders_frontier);
    let mut emitted: Vec<Merged> = Vec::new();
    for m in items {
        if emitted.len() == page || floor.is_some_and(|t| m.at_ms < t) {
            break;
        }
        emitted.push(m);
    }
    let last_log = emitted.iter().rev().find(|m| m.from_log).and_then(|m| m.view.id);
    let last_order = emitted.iter().rev().find(|m| !m.from_log).and_then(|m| m.view.eft_trade_no.clone());
    let emitted_log = emitted.iter().filter(|m| m.from_log).count();
    let emitted_orders = emitted.len() - emitted_log;
    let next_log = if emitted_log < log_count {
        last_log.or(log_below)
    } else if log_done {
        None
    } else {
        log_low.or(last_log)
    };
    let next_orders = if !f.includes_orders() {
        None
    } else if emitted_orders < orders_count {
        last_order.or_else(|| f.cursor.as_ref().map_or_else(|| Some(TOP.to_owned()), |c| c.1.clone()))
    } else if orders_done {
        None
    } else {
        orders_low.or(last_order)
    };
    let partial = emitted.len() < page && (next_log.is_some() || next_orders.is_some());
    let next = (next_log.is_some() || next_orders.is_some()).then(|| {
        format!(
            "d{}_{}",
            next_log.map_or_else(|| "x".to_owned(), |n| n.to_string()),
            next_orders.unwrap_or_else(|| "x".to_owned())
        )
    });
    Ok(RequestPage { requests: emitted.into_iter().map(|m| m.view).collect(), next, partial, follow })
}

/// Where following starts now: after the newest record and order.
async fn follow_cursor(state: &AppState) -> AdminResult<String> {
    let last = state.store().last_request_id().await?.unwrap_or(0);
    let newest = state.store().order_key_range().await?.map(|(_, hi)| hi).unwrap_or_default();
    Ok(format!("t{last}_{newest}"))
}

async fn tail(
    state: &AppState,
    f: &RequestFilter,
    (after_log, after_order): &(i64, String),
    since_ms: i64,
    head: String,
) -> AdminResult<RequestPage> {
    let store = state.store();
    let page = usize::try_from(f.limit).unwrap_or(0);
    let merchant = f.merchant.as_deref();
    let logs = store.requests_after(*after_log, merchant, f.limit + 1).await?;
    let orders = store.orders_after(after_order, since_ms.div_euclid(1000), merchant, f.limit + 1).await?;
    // A source that filled its page may have more: nothing after its last
    // item is known yet.
    let log_frontier = (logs.len() > page).then(|| logs.last().map(|r| r.record.at_ms)).flatten();
    let order_frontier = (orders.len() > page).then(|| orders.last().map(order_at_ms)).flatten();
    let ceiling = match (log_frontier, order_frontier) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    let memo = state.latency_memo();
    let mut items: Vec<Merged> = logs
        .iter()
        .map(|r| Merged { at_ms: r.record.at_ms, view: RequestView::of(r), from_log: true })
        .chain(orders.iter().map(|o| Merged {
            at_ms: order_at_ms(o),
            view: RequestView::of_order(o, memo.get(o.eft_trade_no.as_str())),
            from_log: false,
        }))
        .collect();
    items.sort_by_key(|m| (m.at_ms, !m.from_log));
    let mut emitted = Vec::new();
    for m in items {
        if emitted.len() == page || ceiling.is_some_and(|t| m.at_ms > t) {
            break;
        }
        emitted.push(m);
    }
    let next_log = emitted.iter().rev().find(|m| m.from_log).and_then(|m| m.view.id).unwrap_or(*after_log);
    let next_order = emitted
        .iter()
        .rev()
        .find(|m| !m.from_log)
        .and_then(|m| m.view.eft_trade_no.clone())
        .unwrap_or_else(|| after_order.clone());
    let follow = format!("t{next_log}_{next_order}");
    let _ = head;
    Ok(RequestPage { requests: emitted.into_iter().map(|m| m.view).collect(), next: None, partial: false, follow })
}

/// One logged request in full.
///
/// # Errors
/// [`AdminError`]: 404 when there is no such record (or it was pruned).
pub async fn request_detail(state: &AppState, id: i64) -> AdminResult<RequestDetail> {
    state.store().flush_journal().await?;
    let r = state.store().logged_request(id).await?.ok_or_else(|| {
        AdminError::not_found(format!("no request #{id} in the request log (pruned, or never logged)"))
    })?;
    let sign_hint = r.record.sign_hint.as_deref().and_then(|h| serde_json::from_str::<SignHintView>(h).ok());
    Ok(RequestDetail {
        request: RequestView::of(&r),
        body: r.record.request.as_deref().map(pretty),
        answer: r.record.answer.as_deref().map(pretty),
        sign_hint,
    })
}

// ---- notifications ----

/// Filters of the notification list.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationListQuery {
    /// `owed`, `delivered` or `failed` (default: all).
    pub status: Option<String>,
    /// Only this merchant's.
    pub merchant: Option<String>,
    /// Only this order's.
    pub eft_trade_no: Option<String>,
    /// Where the page starts (`next` of the previous page).
    pub cursor: Option<String>,
    /// Notifications per page (1–200, default 50).
    pub limit: Option<String>,
}

/// A page of notifications.
///
/// # Errors
/// [`AdminError`] for an invalid filter or a failing store.
pub async fn notifications(state: &AppState, q: &NotificationListQuery) -> AdminResult<NotificationPage> {
    let status = match given(&q.status) {
        None => None,
        Some("owed") => Some(OutboxStatus::Pending),
        Some("delivered") => Some(OutboxStatus::Delivered),
        Some("failed") => Some(OutboxStatus::Failed),
        Some(other) => {
            return Err(AdminError::bad(format!("status: {:?} is not one of owed/delivered/failed", clip(other))));
        }
    };
    let eft_trade_no = given(&q.eft_trade_no).map(|e| eft_param(e).map(str::to_owned)).transpose()?;
    let owed = status == Some(OutboxStatus::Pending);
    let below = match given(&q.cursor) {
        None if owed => (i64::MIN, i64::MIN),
        None => (0, i64::MAX),
        Some(c) => {
            let (a, b) = parse_pair(c, 'n').ok_or_else(cursor_error)?;
            (a.parse().map_err(|_| cursor_error())?, b.parse().map_err(|_| cursor_error())?)
        }
    };
    let limit = limit(&q.limit)?;
    let query = NotificationQuery {
        status,
        merchant: merchant_key("merchant", &q.merchant)?,
        eft_trade_no,
        below,
        limit: limit + 1,
    };
    let mut rows = state.store().list_notifications(&query).await?;
    let more = rows.len() > usize::try_from(limit).unwrap_or(0);
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let next = more
        .then(|| rows.last())
        .flatten()
        .map(|l| format!("n{}_{}", if owed { l.notification.next_attempt_at } else { 0 }, l.notification.id));
    Ok(NotificationPage { notifications: rows.iter().map(NotificationView::of).collect(), next })
}

/// One notification with its attempts.
///
/// # Errors
/// [`AdminError`]: 404 when there is no such notification.
pub async fn notification(state: &AppState, id: i64) -> AdminResult<NotificationView> {
    let listed = state
        .store()
        .notification_by_id(id)
        .await?
        .ok_or_else(|| AdminError::not_found(format!("no notification #{id}")))?;
    let mut view = NotificationView::of(&listed);
    view.attempt_log = state.store().attempts_for_notification(id).await?.iter().map(AttemptView::of).collect();
    Ok(view)
}

/// "Deliver now": an owed notification's next attempt, at once.
///
/// # Errors
/// [`AdminError`]: 404 when missing, 409 when it is not owed or is being
/// delivered at this moment.
pub async fn deliver_now(admin: &Admin, id: i64) -> AdminResult<Done> {
    let state = &admin.state;
    let current = notification(state, id).await?;
    let now = state.clock().now().unix_timestamp();
    if !state.store().deliver_now(id, now).await? {
        let why = if current.status == "owed" {
            "is being delivered at this moment; look again in a few seconds"
        } else {
            "is not owed (it was delivered or given up); use resend for a new delivery"
        };
        return Err(AdminError::conflict(format!("notification #{id} {why}")));
    }
    state.wake_notifier();
    journal::event(state, &current.eft_trade_no, EventKind::ConsoleAction, action_detail("deliver now", id));
    Ok(Done { message: format!("notification #{id} is due now; the notifier is sending it") })
}

/// "Resend": a new delivery (a new outbox row, due now) of a delivered or
/// failed notification; returns the new one.
///
/// # Errors
/// [`AdminError`]: 404 when missing, 409 when it is still owed.
pub async fn resend(admin: &Admin, id: i64) -> AdminResult<NotificationView> {
    let state = &admin.state;
    let current = notification(state, id).await?;
    let now = state.clock().now().unix_timestamp();
    let Some(new_id) = state.store().resend_notification(id, now).await? else {
        return Err(AdminError::conflict(format!(
            "notification #{id} is still owed; use deliver now for its next attempt"
        )));
    };
    state.wake_notifier();
    journal::event(state, &current.eft_trade_no, EventKind::ConsoleAction, action_detail("resend", id));
    notification(state, new_id).await
}

fn action_detail(action: &str, notification: i64) -> serde_json::Value {
    serde_json::json!({ "action": format!("{action} notification #{notification}") })
}

/// A test notification to send.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestNotificationForm {
    /// The merchant whose secret signs it.
    pub merchant: Option<String>,
    /// Where to send it (http or https).
    pub url: Option<String>,
    /// `TRADE_SUCCESS`, `TRADE_FAIL`, `TRADE_CLOSED` or `TRADE_REFUND`.
    pub trade_status: Option<String>,
}

/// What to check with [`check_handler`].
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckHandlerForm {
    /// The merchant whose secret signs the valid notifications.
    pub merchant: Option<String>,
    /// The notify handler (http or https).
    pub url: Option<String>,
    /// Seconds each answer may take (1–30, default 5).
    pub timeout: Option<String>,
}

/// Sandbox: grades a merchant's notify handler as `vmp check-handler`
/// does (`crate::handler_check`): valid, tampered, unsigned, wrongly
/// signed, stale and duplicate notifications, a refund before and after
/// its sale, the answer time. Sandbox mode only: the gateway sends to the
/// URL given, loopback included.
///
/// # Errors
/// [`AdminError`]: production mode, a missing or unknown merchant, a URL
/// that is not absolute http(s), a timeout out of range.
pub async fn check_handler(state: &AppState, form: &CheckHandlerForm) -> AdminResult<crate::handler_check::Report> {
    if state.mode() != Mode::Sandbox {
        return Err(AdminError::conflict("the handler check is a sandbox tool: off in production mode"));
    }
    let key = merchant_key("merchant", &form.merchant)?.ok_or_else(|| AdminError::bad("merchant: required"))?;
    let merchant =
        state.merchant(&key).await?.ok_or_else(|| AdminError::bad(format!("merchant: no merchant {key}")))?;
    let url_text = given(&form.url).ok_or_else(|| AdminError::bad("url: required"))?;
    let url = url::Url::parse(url_text)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| AdminError::bad("url: must be an absolute http or https URL"))?;
    let timeout = match given(&form.timeout) {
        None => 5,
        Some(t) => t
            .parse::<u64>()
            .ok()
            .filter(|t| (1..=30).contains(t))
            .ok_or_else(|| AdminError::bad(format!("timeout: seconds from 1 to 30, not {:?}", clip(t))))?,
    };
    let opts = crate::handler_check::CheckOptions {
        url,
        key,
        secret: merchant.sending_secret(state.clock().now().unix_timestamp()).clone(),
        timeout: std::time::Duration::from_secs(timeout),
        out_trade_no: None,
        amount: Amount::from_minor(1).map_err(|e| AdminError::bad(e.to_string()))?,
    };
    // The handler judges `time` by the real clock, as it would eftPay's.
    crate::handler_check::run(opts, OffsetDateTime::now_utc())
        .await
        .map_err(|e| AdminError { status: StatusCode::SERVICE_UNAVAILABLE, message: format!("check failed: {e}") })
}

/// Sends a test `trade_status_sync` now, signed with the merchant's
/// secret, to a URL the merchant may use (production: the same rules as
/// an order's `notify_url`), and reports what happened. It belongs to no
/// order (`out_trade_no` `TEST…`) and is not retried.
///
/// # Errors
/// [`AdminError`] for an invalid field, an unknown merchant or a refused URL.
pub async fn test_notification(admin: &Admin, form: &TestNotificationForm) -> AdminResult<TestNotificationResult> {
    let state = &admin.state;
    let key = merchant_key("merchant", &form.merchant)?.ok_or_else(|| AdminError::bad("merchant: required"))?;
    let merchant =
        state.merchant(&key).await?.ok_or_else(|| AdminError::bad(format!("merchant: no merchant {key}")))?;
    let url_text = given(&form.url).ok_or_else(|| AdminError::bad("url: required"))?;
    let url = url::Url::parse(url_text)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some())
        .ok_or_else(|| AdminError::bad("url: must be an absolute http or https URL"))?;
    if state.mode() == Mode::Production {
        crate::netguard::check_url(&url, &merchant.allowed_ports)
            .map_err(|e| AdminError::bad(format!("url: refused in production: {e}")))?;
    }
    let status = given(&form.trade_status).unwrap_or("TRADE_SUCCESS");
    let order_state = OrderState::parse(status).filter(|s| s.is_final()).ok_or_else(|| {
        AdminError::bad(format!(
            "trade_status: {:?} is not one of TRADE_SUCCESS/TRADE_FAIL/TRADE_CLOSED/TRADE_REFUND",
            clip(status)
        ))
    })?;
    let now = state.clock().now();
    let stamp = format_time(now);
    let transaction_id = format!("TEST{stamp}");
    let message = TradeNotification {
        user_confirm_key: key.clone(),
        trade_no: transaction_id.clone(),
        transaction_id,
        out_trade_no: format!("TEST{stamp}"),
        eft_trade_no: format!("00000{stamp}"),
        eftpay_trade_no: format!("00000{stamp}"),
        total_fee: "0.01".into(),
        amount: Amount::from_minor(1).map_err(|_| AdminError::bad("amount"))?,
        currency: "HKD".into(),
        trade_status: order_state.trade_status(),
        gmt_payment: VmpTime::from_datetime(now).to_gmt_string(),
        wallet: "ALIPAYHK".into(),
        tid: None,
        trade_type: if order_state == OrderState::PartlyRefunded { TradeType::Refund } else { TradeType::Sale },
        card_scheme: None,
        time: VmpTime::from_datetime(now),
    };
    let body = message.to_signed_params(merchant.secret.expose_secret()).to_json();
    let started = std::time::Instant::now();
    let sent = admin.http.post(url.as_str()).header("content-type", "application/json").body(body.clone()).send().await;
    let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let mut result = TestNotificationResult {
        url: url.to_string(),
        body,
        http_status: None,
        answer_excerpt: None,
        error: None,
        acknowledged: false,
        latency_ms,
    };
    match sent {
        Ok(resp) => {
            let status = resp.status();
            let answer = crate::notifier::read_limited(resp).await;
            result.http_status = Some(status.as_u16());
            result.acknowledged = status.is_success() && is_ack_success(&answer, Some(merchant.secret.expose_secret()));
            result.answer_excerpt =
                Some(String::from_utf8_lossy(&answer).chars().take(crate::notifier::EXCERPT_MAX).collect());
        }
        Err(e) => result.error = Some(crate::notifier::send_error(&e).to_owned()),
    }
    tracing::info!(merchant = %key, url = %result.url, http_status = result.http_status, "test notification sent from the console");
    Ok(result)
}

// ---- sandbox controls ----

fn sandbox_only(state: &AppState) -> AdminResult<()> {
    if state.mode() == Mode::Sandbox {
        Ok(())
    } else {
        Err(AdminError::conflict("sandbox controls are off in production mode"))
    }
}

/// Settles a pending order as the buyer would: `success` (pay), `fail` or
/// `cancel`, honouring the sandbox magic amounts.
///
/// # Errors
/// [`AdminError`]: production mode, an unknown outcome, no such order, a
/// final order.
pub async fn settle(state: &AppState, eft_trade_no: &str, outcome: Option<&str>) -> AdminResult<OrderView> {
    sandbox_only(state)?;
    let action = match outcome.map(str::trim) {
        Some("success" | "pay") => BuyerAction::Pay,
        Some("fail") => BuyerAction::Fail,
        Some("cancel") => BuyerAction::Cancel,
        _ => return Err(AdminError::bad("outcome: must be success, fail or cancel")),
    };
    let order = order_of(state, eft_trade_no).await?;
    let result = match lifecycle::buyer_action(state, &order, action, None).await {
        Ok(r) => r,
        Err(lifecycle::LifecycleError::NotFound) => return Err(AdminError::not_found("the order disappeared")),
        Err(lifecycle::LifecycleError::Store(e)) => return Err(e.into()),
    };
    let now = state.clock().now().unix_timestamp();
    let (what, view) = match &result {
        ActionResult::Settled(o) => ("settled", OrderView::of(o, now)),
        ActionResult::AlreadyFinal(o) => {
            return Err(AdminError::conflict(format!(
                "order {} is final already ({}); nothing changed",
                o.eft_trade_no,
                o.state.wire_str()
            )));
        }
        ActionResult::Expired(o) => ("expired", OrderView::of(o, now)),
        ActionResult::ServerErrorNoState => ("server_error_no_state", OrderView::of(&order, now)),
        ActionResult::WalletNotChosen => {
            return Err(AdminError::conflict(format!(
                "order {} is a cashier order whose buyer has not chosen a wallet yet; nothing changed",
                order.eft_trade_no
            )));
        }
    };
    let action_name = outcome.unwrap_or_default().trim();
    journal::event(
        state,
        &view.eft_trade_no,
        EventKind::ConsoleAction,
        serde_json::json!({ "action": format!("settle: {action_name} → {what} ({})", view.trade_status) }),
    );
    Ok(view)
}

/// The sandbox clock.
pub fn clock(state: &AppState) -> ClockView {
    ClockView { now: time_text(state.clock().now().unix_timestamp()), offset_seconds: state.clock().offset_seconds() }
}

/// Moves the sandbox clock forward.
///
/// # Errors
/// [`AdminError`]: production mode, `seconds` out of 1–2678400 (31 days),
/// or past the 10-year total.
pub async fn advance_clock(state: &AppState, seconds: Option<&str>) -> AdminResult<ClockView> {
    sandbox_only(state)?;
    let seconds = seconds
        .map(str::trim)
        .and_then(|s| s.parse::<i64>().ok())
        .filter(|s| (1..=31 * 24 * 3600).contains(s))
        .ok_or_else(|| AdminError::bad("seconds: a whole number from 1 to 2678400 (31 days)"))?;
    if let Err(limit) = state.clock().advance(seconds) {
        return Err(AdminError::conflict(format!(
            "the sandbox clock is already {} s ahead and may run at most {} s (10 years) ahead; restart the gateway to reset it",
            limit.current_seconds,
            crate::clock::MAX_OFFSET_SECONDS
        )));
    }
    state.wake_sweeper();
    state.wake_notifier();
    tracing::info!(seconds, "sandbox clock advanced from the console");
    Ok(clock(state))
}

// ---- sandbox fault rules (crate::faults; the sandbox API has the same) ----

fn fault_error(e: crate::faults::FaultAdminError) -> AdminError {
    use crate::faults::FaultAdminError as F;
    match e {
        F::NotSandbox => AdminError::conflict("fault rules exist in sandbox mode only"),
        F::UnknownMerchant(_) | F::UnknownRule(_) => AdminError::not_found(e.to_string()),
        F::Rule(r) => AdminError::bad(r.to_string()),
        F::Store(s) => s.into(),
    }
}

/// A merchant's fault rules, oldest first.
///
/// # Errors
/// [`AdminError`]: production mode, an unknown merchant.
pub async fn faults(state: &AppState, key: &str) -> AdminResult<Vec<FaultView>> {
    let all = crate::faults::list(state, key).await.map_err(fault_error)?;
    Ok(all.iter().map(FaultView::of).collect())
}

/// Adds a fault rule for the merchant `key`; `rule` is its JSON (the
/// sandbox API's body).
///
/// # Errors
/// [`AdminError`]: production mode, an unknown merchant, a rule refused
/// (the message names the field).
pub async fn add_fault(state: &AppState, key: &str, rule: &[u8]) -> AdminResult<FaultView> {
    let rule = vmp_protocol::faults::FaultRule::from_json(rule).map_err(|e| AdminError::bad(e.to_string()))?;
    let stored = crate::faults::add(state, key, rule).await.map_err(fault_error)?;
    Ok(FaultView::of(&stored))
}

/// Deletes the merchant's fault rules, or the one with `id`.
///
/// # Errors
/// [`AdminError`]: production mode, an unknown merchant or rule.
pub async fn clear_faults(state: &AppState, key: &str, id: Option<i64>) -> AdminResult<Done> {
    let n = crate::faults::clear(state, key, id).await.map_err(fault_error)?;
    Ok(Done { message: format!("{n} fault rule(s) of {key} deleted") })
}

/// Deletes a merchant's orders, refunds, notifications, events and request
/// log records (the merchant stays).
///
/// # Errors
/// [`AdminError`]: production mode, an invalid or unknown merchant.
pub async fn reset_merchant(state: &AppState, key: &str) -> AdminResult<Done> {
    sandbox_only(state)?;
    let key = known_merchant(state, key).await?;
    state.store().flush_journal().await?;
    let orders = state.store().reset_merchant_data(&key).await?;
    tracing::info!(merchant = %key, orders, "merchant's sandbox data reset from the console");
    Ok(Done { message: format!("reset {key}: {orders} orders and everything about them deleted") })
}

// ---- merchants ----

async fn known_merchant(state: &AppState, key: &str) -> AdminResult<String> {
    let key = merchant_key("merchant", &Some(key.to_owned()))?.ok_or_else(|| AdminError::bad("merchant: required"))?;
    if state.store().merchant(&key).await?.is_none() {
        return Err(AdminError::not_found(format!("no merchant {key}")));
    }
    Ok(key)
}

/// Every merchant, oldest first (never their secrets).
///
/// # Errors
/// When the store fails.
pub async fn merchants(state: &AppState) -> AdminResult<Vec<MerchantView>> {
    Ok(state.store().list_merchants().await?.iter().map(MerchantView::of).collect())
}

/// A merchant to add.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMerchantForm {
    /// Display name (1–64 characters; default `Merchant`).
    pub name: Option<String>,
    /// `user_confirm_key` to use (generated when absent).
    pub key: Option<String>,
}

/// Adds a merchant with a generated secret; answers the credentials once.
///
/// # Errors
/// [`AdminError`]: an invalid name or key, a key in use.
pub async fn add_merchant(state: &AppState, form: &NewMerchantForm) -> AdminResult<MerchantCredentials> {
    let name = given(&form.name).unwrap_or("Merchant");
    if name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(AdminError::bad("name: 1 to 64 characters, no control characters"));
    }
    let key = match merchant_key("key", &form.key)? {
        Some(k) => k,
        None => crate::merchant::generate_key().map_err(|_| AdminError::conflict("no random source"))?,
    };
    let secret = crate::merchant::generate_secret().map_err(|_| AdminError::conflict("no random source"))?;
    let merchant = Merchant {
        key: key.clone(),
        name: name.to_owned(),
        secret: secret.clone(),
        status: MerchantStatus::Active,
        allowed_ports: Vec::new(),
        previous: None,
    };
    match state.store().add_merchant(NewMerchant { merchant, created_at: state.clock().now().unix_timestamp() }).await {
        Ok(()) => {}
        Err(StoreError::DuplicateMerchant(k)) => return Err(AdminError::conflict(format!("key: {k} is taken"))),
        Err(e) => return Err(e.into()),
    }
    tracing::info!(merchant = %key, "merchant added from the console");
    Ok(MerchantCredentials { key, secret: secret.expose_secret().to_owned() })
}

/// Enables or disables a merchant.
///
/// # Errors
/// [`AdminError`]: an invalid status, no such merchant.
pub async fn set_merchant_status(state: &AppState, key: &str, status: Option<&str>) -> AdminResult<Done> {
    let status = status
        .map(str::trim)
        .and_then(MerchantStatus::parse)
        .ok_or_else(|| AdminError::bad("status: must be active or disabled"))?;
    let key = known_merchant(state, key).await?;
    state.store().set_merchant_status(&key, status).await?;
    tracing::info!(merchant = %key, status = status.as_str(), "merchant status set from the console");
    Ok(Done { message: format!("{key} is {} (within a second on every instance)", status.as_str()) })
}

/// Gives a merchant a new generated secret, answered once; the old one
/// stops working (within the merchant cache's second). The one place the
/// console changes a secret, so it can switch to rotation with overlap.
///
/// # Errors
/// [`AdminError`]: no such merchant.
pub async fn new_secret(state: &AppState, key: &str) -> AdminResult<MerchantCredentials> {
    let key = known_merchant(state, key).await?;
    let secret: SecretString =
        crate::merchant::generate_secret().map_err(|_| AdminError::conflict("no random source"))?;
    if !state.store().set_merchant_secret(&key, &secret).await? {
        return Err(AdminError::not_found(format!("no merchant {key}")));
    }
    tracing::info!(merchant = %key, "merchant given a new secret from the console");
    Ok(MerchantCredentials { key, secret: secret.expose_secret().to_owned() })
}
