//! `/console`: the developer console, server-rendered HTML (askama
//! templates in `crates/server/templates/console/`, which escape every
//! value by default). No script, no external asset: one stylesheet served
//! here. Every page works without JavaScript; every action is a form
//! `POST` carrying the session's CSRF token, answered with a page saying
//! what was done (or, refused, why nothing was).
//!
//! The operations and their validation are [`crate::admin::service`]'s,
//! shared with the JSON API; access is [`crate::admin::auth`]'s.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};

use crate::admin::Admin;
use crate::admin::auth::{Denied, Level, Session};
use crate::admin::service::{
    self, AdminError, CheckHandlerForm, NewMerchantForm, NotificationListQuery, OrderQuery, RequestQuery,
    TestNotificationForm,
};
use crate::admin::views::{
    ClockView, FaultView, MerchantCredentials, MerchantView, NotificationPage, NotificationView, OrderDetail,
    OrderPage, RequestDetail, RequestPage, TestNotificationResult,
};
use crate::config::Mode;

/// The console's routes.
pub(crate) fn router() -> axum::Router<Admin> {
    axum::Router::new()
        .route("/console", get(|| async { Redirect::to("/console/orders") }))
        .route("/console/static/console.css", get(stylesheet))
        .route("/console/login", get(login_form).post(login))
        .route("/console/logout", post(logout))
        .route("/console/orders", get(orders))
        .route("/console/orders/{eft_trade_no}", get(order))
        .route("/console/orders/{eft_trade_no}/settle", post(settle))
        .route("/console/requests", get(requests))
        .route("/console/requests/{id}", get(request))
        .route("/console/notifications", get(notifications))
        .route("/console/notifications/test", post(test_notification))
        .route("/console/notifications/{id}/deliver", post(deliver))
        .route("/console/notifications/{id}/resend", post(resend))
        .route("/console/sandbox", get(sandbox))
        .route("/console/sandbox/clock", post(advance_clock))
        .route("/console/sandbox/reset", post(reset))
        .route("/console/sandbox/faults", post(add_fault))
        .route("/console/check-handler", get(check_handler_form).post(check_handler))
        .route("/console/sandbox/faults/clear", post(clear_faults))
        .route("/console/merchants", get(merchants).post(add_merchant))
        .route("/console/merchants/{key}/status", post(merchant_status))
        .route("/console/merchants/{key}/secret", post(new_secret))
}

/// The session of a console request allowed in ([`crate::admin::auth`]).
struct Console {
    session: Session,
    csrf: String,
    admin: Admin,
}

impl FromRequestParts<Admin> for Console {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, admin: &Admin) -> Result<Self, Response> {
        let peer = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0);
        match admin.auth.console_session(&parts.headers, peer) {
            Ok(session) => {
                let csrf = admin.auth.csrf(&session);
                Ok(Console { session, csrf, admin: admin.clone() })
            }
            Err(denied) if parts.method == axum::http::Method::GET => {
                let _ = denied;
                Err(Redirect::to("/console/login").into_response())
            }
            Err(denied) => Err(message_page(None, StatusCode::UNAUTHORIZED, "Refused", &denied.to_string(), None)),
        }
    }
}

impl Console {
    fn nav(&self, section: &'static str) -> Nav {
        Nav {
            section,
            mode: self.admin.state.mode().to_string(),
            csrf: self.csrf.clone(),
            signed_in: self.session.level == Level::Token,
        }
    }

    /// A page, with the session's cookie when it is new.
    fn page(&self, status: StatusCode, html: Result<String, askama::Error>) -> Response {
        let mut resp = render(status, html);
        if let Some(cookie) = &self.session.set_cookie
            && let Ok(v) = HeaderValue::from_str(cookie)
        {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
        resp
    }

    /// The refusal of a form whose CSRF token is not this session's.
    fn csrf_refusal(&self, form: &HashMap<String, String>) -> Option<Response> {
        if self.admin.auth.csrf_ok(&self.session, form.get("csrf").map(String::as_str)) {
            None
        } else {
            Some(self.message(
                StatusCode::FORBIDDEN,
                "Refused",
                "The form's CSRF token is missing or is not this session's, so nothing was changed. \
                 Reload the page and try again.",
                None,
            ))
        }
    }

    fn message(&self, status: StatusCode, title: &str, text: &str, back: Option<(&str, &str)>) -> Response {
        let mut resp = message_page(Some(self.nav("")), status, title, text, back);
        if let Some(cookie) = &self.session.set_cookie
            && let Ok(v) = HeaderValue::from_str(cookie)
        {
            resp.headers_mut().append(header::SET_COOKIE, v);
        }
        resp
    }

    fn failed(&self, e: &AdminError, back: Option<(&str, &str)>) -> Response {
        self.message(e.status, "Nothing was changed", &e.message, back)
    }
}

fn render(status: StatusCode, html: Result<String, askama::Error>) -> Response {
    match html {
        Ok(body) => (status, Html(body)).into_response(),
        Err(e) => {
            tracing::error!(error.message = %e, "console template failed");
            (StatusCode::INTERNAL_SERVER_ERROR, "the page could not be rendered").into_response()
        }
    }
}

/// The header every page shares.
struct Nav {
    section: &'static str,
    mode: String,
    csrf: String,
    signed_in: bool,
}

#[derive(Template)]
#[template(path = "console/message.html")]
struct MessagePage<'a> {
    nav: Option<Nav>,
    title: &'a str,
    text: &'a str,
    back: Option<(&'a str, &'a str)>,
}

fn message_page(nav: Option<Nav>, status: StatusCode, title: &str, text: &str, back: Option<(&str, &str)>) -> Response {
    render(status, MessagePage { nav, title, text, back }.render())
}

/// A result as a page shows it: the status, what to show, or the error's message.
fn shown<T>(r: Result<T, AdminError>) -> (StatusCode, Option<T>, Option<String>) {
    match r {
        Ok(v) => (StatusCode::OK, Some(v), None),
        Err(e) => (e.status, None, Some(e.message)),
    }
}

fn form(f: Result<Form<HashMap<String, String>>, FormRejection>) -> HashMap<String, String> {
    f.map(|Form(m)| m).unwrap_or_default()
}

async fn stylesheet() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], include_str!("../../templates/console/console.css"))
        .into_response()
}

// ---- login ----

#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage {
    csrf: String,
    error: Option<String>,
}

async fn login_form(State(admin): State<Admin>, req: axum::extract::Request) -> Response {
    let peer = crate::admin::peer(&req);
    if admin.auth.session(req.headers()).is_some_and(|s| s.level == Level::Token)
        || admin.auth.open(req.headers(), peer)
    {
        return Redirect::to("/console/orders").into_response();
    }
    let session = match admin.auth.session(req.headers()) {
        Some(s) => s,
        None => match admin.auth.new_session(Level::Anonymous) {
            Ok(s) => s,
            Err(_) => return (StatusCode::SERVICE_UNAVAILABLE, "no random source").into_response(),
        },
    };
    let mut resp = render(StatusCode::OK, LoginPage { csrf: admin.auth.csrf(&session), error: None }.render());
    if let Some(c) = session.set_cookie.as_deref().and_then(|c| HeaderValue::from_str(c).ok()) {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

async fn login(
    State(admin): State<Admin>,
    headers: axum::http::HeaderMap,
    f: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let f = form(f);
    let Some(session) = admin.auth.session(&headers) else {
        return message_page(
            None,
            StatusCode::FORBIDDEN,
            "Refused",
            "No console session: open /console/login and try again.",
            None,
        );
    };
    if !admin.auth.csrf_ok(&session, f.get("csrf").map(String::as_str)) {
        return message_page(
            None,
            StatusCode::FORBIDDEN,
            "Refused",
            "The form's CSRF token is missing or is not this session's; reload the login page and try again.",
            None,
        );
    }
    let token = f.get("token").map(String::as_str).unwrap_or_default();
    if !admin.auth.token_ok(token) {
        tracing::warn!("console login refused: wrong admin token");
        let page = LoginPage { csrf: admin.auth.csrf(&session), error: Some(Denied::TokenRefused.to_string()) };
        return render(StatusCode::UNAUTHORIZED, page.render());
    }
    let Ok(signed_in) = admin.auth.new_session(Level::Token) else {
        return (StatusCode::SERVICE_UNAVAILABLE, "no random source").into_response();
    };
    let mut resp = Redirect::to("/console/orders").into_response();
    if let Some(c) = signed_in.set_cookie.as_deref().and_then(|c| HeaderValue::from_str(c).ok()) {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

async fn logout(c: Console, f: Result<Form<HashMap<String, String>>, FormRejection>) -> Response {
    if let Some(r) = c.csrf_refusal(&form(f)) {
        return r;
    }
    let mut resp = Redirect::to("/console/login").into_response();
    let clear = format!("{}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0", crate::admin::auth::COOKIE_NAME);
    if let Ok(v) = HeaderValue::from_str(&clear) {
        resp.headers_mut().append(header::SET_COOKIE, v);
    }
    resp
}

// ---- orders ----

#[derive(Template)]
#[template(path = "console/orders.html")]
struct OrdersPage {
    nav: Nav,
    page: Option<OrderPage>,
    q: OrderQuery,
    merchants: Vec<MerchantView>,
    services: Vec<&'static str>,
    states: Vec<&'static str>,
    next_href: Option<String>,
    error: Option<String>,
}

/// `path?…` with the query's fields and `cursor` (empty fields left out).
fn href(path: &str, fields: &[(&str, &Option<String>)], cursor: Option<&str>) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            q.append_pair(k, v);
        }
    }
    if let Some(c) = cursor {
        q.append_pair("cursor", c);
    }
    format!("{path}?{}", q.finish())
}

async fn orders(c: Console, q: Result<Query<OrderQuery>, QueryRejection>) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let state = &c.admin.state;
    let merchants = service::merchants(state).await.unwrap_or_default();
    // The sales of every scene served (qrcode, jsapi, app and cashier too).
    let services = vmp_protocol::Service::ALL
        .iter()
        .filter(|s| s.spec().is_ready() && s.spec().op == vmp_protocol::catalogue::Operation::Sale)
        .map(|s| s.label())
        .collect();
    let states = crate::domain::OrderState::ALL.iter().map(|s| s.as_str()).collect();
    let (status, page, error) = shown(service::orders(state, &q).await);
    let next_href = page.as_ref().and_then(|p| p.next.as_deref()).map(|n| {
        href(
            "/console/orders",
            &[
                ("merchant", &q.merchant),
                ("service", &q.service),
                ("state", &q.state),
                ("from", &q.from),
                ("to", &q.to),
                ("limit", &q.limit),
            ],
            Some(n),
        )
    });
    let html = OrdersPage { nav: c.nav("orders"), page, q, merchants, services, states, next_href, error }.render();
    c.page(status, html)
}

#[derive(Template)]
#[template(path = "console/order.html")]
struct OrderPageHtml {
    nav: Nav,
    d: OrderDetail,
    sandbox: bool,
}

async fn order(c: Console, Path(eft): Path<String>) -> Response {
    match service::order_detail(&c.admin.state, &eft).await {
        Ok(d) => {
            let sandbox = c.admin.state.mode() == Mode::Sandbox;
            let html = OrderPageHtml { nav: c.nav("orders"), d, sandbox }.render();
            c.page(StatusCode::OK, html)
        }
        Err(e) => c.failed(&e, Some(("/console/orders", "Orders"))),
    }
}

async fn settle(
    c: Console,
    Path(eft): Path<String>,
    f: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let f = form(f);
    if let Some(r) = c.csrf_refusal(&f) {
        return r;
    }
    let back = format!("/console/orders/{}", eft.chars().filter(char::is_ascii_digit).collect::<String>());
    match service::settle(&c.admin.state, &eft, f.get("outcome").map(String::as_str)).await {
        Ok(o) => c.message(
            StatusCode::OK,
            "Order settled",
            &format!("Order {} is now {}.", o.eft_trade_no, o.trade_status),
            Some((&back, "Back to the order")),
        ),
        Err(e) => c.failed(&e, Some((&back, "Back to the order"))),
    }
}

// ---- requests ----

#[derive(Template)]
#[template(path = "console/requests.html")]
struct RequestsPage {
    nav: Nav,
    page: Option<RequestPage>,
    q: RequestQuery,
    endpoints: Vec<&'static str>,
    next_href: Option<String>,
    error: Option<String>,
    enabled: bool,
}

async fn requests(c: Console, q: Result<Query<RequestQuery>, QueryRejection>) -> Response {
    let mut q = q.map(|Query(q)| q).unwrap_or_default();
    q.after = None;
    let state = &c.admin.state;
    let (status, page, error) = shown(service::requests(state, &q).await);
    let next_href = page.as_ref().and_then(|p| p.next.as_deref()).map(|n| {
        href(
            "/console/requests",
            &[
                ("merchant", &q.merchant),
                ("status", &q.status),
                ("service", &q.service),
                ("endpoint", &q.endpoint),
                ("limit", &q.limit),
            ],
            Some(n),
        )
    });
    let endpoints = vmp_protocol::Endpoint::ALL.iter().map(|e| e.as_str()).collect();
    let enabled = state.journal_settings().enabled();
    let html = RequestsPage { nav: c.nav("requests"), page, q, endpoints, next_href, error, enabled }.render();
    c.page(status, html)
}

#[derive(Template)]
#[template(path = "console/request.html")]
struct RequestPageHtml {
    nav: Nav,
    d: RequestDetail,
}

async fn request(c: Console, Path(id): Path<String>) -> Response {
    let Some(id) = id.parse::<i64>().ok().filter(|n| *n > 0) else {
        return c.failed(&AdminError::bad("id: a positive number"), Some(("/console/requests", "Request log")));
    };
    match service::request_detail(&c.admin.state, id).await {
        Ok(d) => {
            let html = RequestPageHtml { nav: c.nav("requests"), d }.render();
            c.page(StatusCode::OK, html)
        }
        Err(e) => c.failed(&e, Some(("/console/requests", "Request log"))),
    }
}

// ---- notifications ----

#[derive(Template)]
#[template(path = "console/notifications.html")]
struct NotificationsPage {
    nav: Nav,
    page: Option<NotificationPage>,
    q: NotificationListQuery,
    merchants: Vec<MerchantView>,
    next_href: Option<String>,
    error: Option<String>,
    result: Option<TestNotificationResult>,
}

async fn notifications(c: Console, q: Result<Query<NotificationListQuery>, QueryRejection>) -> Response {
    let q = q.map(|Query(q)| q).unwrap_or_default();
    let state = &c.admin.state;
    let merchants = service::merchants(state).await.unwrap_or_default();
    let (status, page, error) = shown(service::notifications(state, &q).await);
    let next_href = page.as_ref().and_then(|p| p.next.as_deref()).map(|n| {
        href(
            "/console/notifications",
            &[("status", &q.status), ("merchant", &q.merchant), ("eft_trade_no", &q.eft_trade_no), ("limit", &q.limit)],
            Some(n),
        )
    });
    let html =
        NotificationsPage { nav: c.nav("notifications"), page, q, merchants, next_href, error, result: None }.render();
    c.page(status, html)
}

fn back_to_notification(n: &NotificationView) -> String {
    format!("/console/orders/{}", n.eft_trade_no)
}

async fn deliver(
    c: Console,
    Path(id): Path<String>,
    f: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    if let Some(r) = c.csrf_refusal(&form(f)) {
        return r;
    }
    let Some(id) = id.parse::<i64>().ok().filter(|n| *n > 0) else {
        return c.failed(&AdminError::bad("id: a positive number"), None);
    };
    let back = service::notification(&c.admin.state, id).await.ok().map(|n| back_to_notification(&n));
    let back = back.as_deref().map(|b| (b, "Back to the order"));
    match service::deliver_now(&c.admin, id).await {
        Ok(done) => c.message(StatusCode::OK, "Delivering now", &done.message, back),
        Err(e) => c.failed(&e, back),
    }
}

async fn resend(
    c: Console,
    Path(id): Path<String>,
    f: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    if let Some(r) = c.csrf_refusal(&form(f)) {
        return r;
    }
    let Some(id) = id.parse::<i64>().ok().filter(|n| *n > 0) else {
        return c.failed(&AdminError::bad("id: a positive number"), None);
    };
    match service::resend(&c.admin, id).await {
        Ok(n) => {
            let back = back_to_notification(&n);
            c.message(
                StatusCode::OK,
                "Resent",
                &format!(
                    "Notification #{} queued as a new delivery of #{id} to {}; it is being sent now.",
                    n.id, n.url
                ),
                Some((&back, "Back to the order")),
            )
        }
        Err(e) => c.failed(&e, Some(("/console/notifications", "Notifications"))),
    }
}

async fn test_notification(c: Console, f: Result<Form<HashMap<String, String>>, FormRejection>) -> Response {
    let f = form(f);
    if let Some(r) = c.csrf_refusal(&f) {
        return r;
    }
    let get = |k: &str| f.get(k).cloned();
    let test = TestNotificationForm { merchant: get("merchant"), url: get("url"), trade_status: get("trade_status") };
    let state = &c.admin.state;
    let merchants = service::merchants(state).await.unwrap_or_default();
    let (status, result, error) = shown(service::test_notification(&c.admin, &test).await);
    let page = service::notifications(state, &NotificationListQuery::default()).await.ok();
    let html = NotificationsPage {
        nav: c.nav("notifications"),
        page,
        q: NotificationListQuery::default(),
        merchants,
        next_href: None,
        error,
        result,
    }
    .render();
    c.page(status, html)
}

// ---- the notify-handler check ----

#[derive(Template)]
#[template(path = "console/check_handler.html")]
struct CheckHandlerPage {
    nav: Nav,
    merchants: Vec<MerchantView>,
    merchant: String,
    url: String,
    sandbox: bool,
    report: Option<crate::handler_check::Report>,
    error: Option<String>,
}

async fn check_handler_page(
    c: &Console,
    form: &CheckHandlerForm,
    report: Option<crate::handler_check::Report>,
    error: Option<String>,
) -> askama::Result<String> {
    let state = &c.admin.state;
    CheckHandlerPage {
        nav: c.nav("check-handler"),
        merchants: service::merchants(state).await.unwrap_or_default(),
        merchant: form.merchant.clone().unwrap_or_default(),
        url: form.url.clone().unwrap_or_default(),
        sandbox: state.mode() == Mode::Sandbox,
        report,
        error,
    }
    .render()
}

async fn check_handler_form(c: Console) -> Response {
    let html = check_handler_page(&c, &CheckHandlerForm::default(), None, None).await;
    c.page(StatusCode::OK, html)
}

async fn check_handler(c: Console, f: Result<Form<HashMap<String, String>>, FormRejection>) -> Response {
    let f = form(f);
    if let Some(r) = c.csrf_refusal(&f) {
        return r;
    }
    let get = |k: &str| f.get(k).cloned();
    let check = CheckHandlerForm { merchant: get("merchant"), url: get("url"), timeout: get("timeout") };
    let (status, report, error) = shown(service::check_handler(&c.admin.state, &check).await);
    let html = check_handler_page(&c, &check, report, error).await;
    c.page(status, html)
}

// ---- sandbox ----

#[derive(Template)]
#[template(path = "console/sandbox.html")]
struct SandboxPage {
    nav: Nav,
    clock: ClockView,
    merchants: Vec<MerchantView>,
    faults: Vec<FaultView>,
    sandbox: bool,
}

async fn sandbox(c: Console) -> Response {
    let state = &c.admin.state;
    let merchants = service::merchants(state).await.unwrap_or_default();
    let sandbox = state.mode() == Mode::Sandbox;
    let mut faults = Vec::new();
    if sandbox {
        for m in &merchants {
            faults.extend(service::faults(state, &m.key).await.unwrap_or_default());
        }
    }
    let html = SandboxPage { nav: c.nav("sandbox"), clock: service::clock(state), merchants, faults, sandbox }.render();
    c.page(StatusCode::OK, html)
}

/// The fault rule a console form describes, as the sandbox API's JSON:
/// empty fields are left out; numbers must be numbers.
fn fault_rule_json(f: &HashMap<String, String>) -> Result<Vec<u8>, AdminError> {
    let text = |name: &str| f.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()).map(str::to_owned);
    let number = |name: &str| -> Result<Option<u64>, AdminError> {
        text(name)
            .map(|v| v.parse::<u64>().map_err(|_| AdminError::bad(format!("{name}: a whole number, not {v:?}"))))
            .transpose()
    };
    let spec = vmp_protocol::faults::FaultRuleSpec {
        operation: text("operation"),
        return_status: text("return_status"),
        return_char: text("return_char"),
        delay_ms: number("delay_ms")?,
        notification: text("notification"),
        count: number("count")?,
        percent: number("percent")?,
        ..Default::default()
    };
    serde_json::to_vec(&spec).map_err(|e| AdminError::bad(e.to_string()))
}

async fn add_fault(c: Console, f: Result<Form<HashMap<String, String>>, FormRejection>) -> Response {
    let f = form(f);
    if let Some(r) = c.csrf_refusal(&f) {
        return r;
    }
    let back = Some(("/console/sandbox", "Back to sandbox controls"));
    let key = f.get("merchant").map(String::as_str).unwrap_or_default();
    let added = match fault_rule_json(&f) {
        Ok(rule) => service::add_fault(&c.admin.state, key, &rule).await,
        Err(e) => Err(e),
    };
    match added {
        Ok(v) => c.message(
            StatusCode::OK,
            "Fault rule added",
            &format!("Rule {} for {}: {}.", v.id, v.merchant, v.summary),
            back,
        ),
        Err(e) => c.failed(&e, back),
    }
}

async fn clear_faults(c: Console, f: Result<Form<HashMap<String, String>>, FormRejection>) -> Response {
    let f = form(f);
    if let Some(r) = c.csrf_refusal(&f) {
        return r;
    }
    let back = Some(("/console/sandbox", "Back to sandbox controls"));
    let key = f.get("merchant").map(String::as_str).unwrap_or_default();
    let id = match f.get("id").map(|v| v.trim()).filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => match v.parse::<i64>() {
            Ok(id) => Some(id),
            Err(_) => return c.failed(&AdminError::bad(format!("id: a number, not {v:?}")), back),
        },
    };
    match service::clear_faults(&c.admin.state, key, id).await {
        Ok(done) => c.message(StatusCode::OK, "Fault rules deleted", &done.message, back),
        Err(e) => c.failed(&e, back),
    }
}

async fn advance_clock(c: Console, f: Result<Form<HashMap<String, String>>, FormRejection>) -> Response {
    let f = form(f);
    if let Some(r) = c.csrf_refusal(&f) {
        return r;
    }
    let back = Some(("/console/sandbox", "Back to sandbox controls"));
    match service::advance_clock(&c.admin.state, f.get("seconds").map(String::as_str)).await {
        Ok(clock) => {
            c.message(StatusCode::OK, "Clock moved", &format!("The gateway's time is now {} (UTC+8).", clock.now), back)
        }
        Err(e) => c.failed(&e, back),
    }
}

async fn reset(c: Console, f: Result<Form<HashMap<String, String>>, FormRejection>) -> Response {
    let f = form(f);
    if let Some(r) = c.csrf_refusal(&f) {
        return r;
    }
    let back = Some(("/console/sandbox", "Back to sandbox controls"));
    let key = f.get("merchant").map(String::as_str).unwrap_or_default();
    match service::reset_merchant(&c.admin.state, key).await {
        Ok(done) => c.message(StatusCode::OK, "Sandbox data reset", &done.message, back),
        Err(e) => c.failed(&e, back),
    }
}

// ---- merchants ----

#[derive(Template)]
#[template(path = "console/merchants.html")]
struct MerchantsPage {
    nav: Nav,
    merchants: Vec<MerchantView>,
    created: Option<MerchantCredentials>,
    error: Option<String>,
}

async fn merchants(c: Console) -> Response {
    match service::merchants(&c.admin.state).await {
        Ok(merchants) => {
            let html = MerchantsPage { nav: c.nav("merchants"), merchants, created: None, error: None }.render();
            c.page(StatusCode::OK, html)
        }
        Err(e) => c.failed(&e, None),
    }
}

async fn add_merchant(c: Console, f: Result<Form<HashMap<String, String>>, FormRejection>) -> Response {
    let f = form(f);
    if let Some(r) = c.csrf_refusal(&f) {
        return r;
    }
    let new = NewMerchantForm { name: f.get("name").cloned(), key: f.get("key").cloned() };
    let (status, created, error) = shown(service::add_merchant(&c.admin.state, &new).await);
    let merchants = service::merchants(&c.admin.state).await.unwrap_or_default();
    let html = MerchantsPage { nav: c.nav("merchants"), merchants, created, error }.render();
    c.page(status, html)
}

async fn merchant_status(
    c: Console,
    Path(key): Path<String>,
    f: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let f = form(f);
    if let Some(r) = c.csrf_refusal(&f) {
        return r;
    }
    let back = Some(("/console/merchants", "Back to merchants"));
    match service::set_merchant_status(&c.admin.state, &key, f.get("status").map(String::as_str)).await {
        Ok(done) => c.message(StatusCode::OK, "Merchant updated", &done.message, back),
        Err(e) => c.failed(&e, back),
    }
}

async fn new_secret(
    c: Console,
    Path(key): Path<String>,
    f: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    if let Some(r) = c.csrf_refusal(&form(f)) {
        return r;
    }
    let (status, created, error) = shown(service::new_secret(&c.admin.state, &key).await);
    let merchants = service::merchants(&c.admin.state).await.unwrap_or_default();
    let html = MerchantsPage { nav: c.nav("merchants"), merchants, created, error }.render();
    c.page(status, html)
}
