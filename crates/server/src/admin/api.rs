//! The JSON admin API under `/admin/api/`: the console's operations
//! ([`super::service`]) for scripts and `vmp`. Every handler is annotated
//! for the OpenAPI document (`GET /admin/api/openapi.json`), which is
//! generated from these annotations as the router is built, so the
//! document and the routes cannot differ.
//!
//! Access: `Authorization: Bearer <admin token>`, or open in sandbox mode
//! from loopback ([`super::auth`]). Every `POST` takes a JSON object body
//! (`{}` when it has no fields). Errors are `{"error": "…"}` with a 4xx or
//! 503 status; nothing was changed.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::Admin;
use super::service::{
    self, AdminError, CheckHandlerForm, NewMerchantForm, NotificationListQuery, OrderQuery, RequestQuery,
    TestNotificationForm,
};
use super::views::{
    ClockView, Done, FaultView, MerchantCredentials, MerchantView, NotificationPage, NotificationView, OrderDetail,
    OrderPage, OrderView, RequestDetail, RequestPage, TestNotificationResult,
};

/// What every error answers.
#[derive(Debug, serde::Serialize, ToSchema)]
pub(crate) struct ErrorBody {
    /// What went wrong, naming the field at fault; nothing was changed.
    error: String,
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        (self.status, Json(ErrorBody { error: self.message })).into_response()
    }
}

type ApiResult<T> = Result<Json<T>, AdminError>;

/// Passes only requests allowed to use the API ([`super::auth::AdminAuth::api`]).
pub(crate) struct ApiGuard;

impl FromRequestParts<Admin> for ApiGuard {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, admin: &Admin) -> Result<Self, AdminError> {
        let peer = parts.extensions.get::<axum::extract::ConnectInfo<std::net::SocketAddr>>().map(|c| c.0);
        admin.auth.api(&parts.headers, peer).map(|()| ApiGuard).map_err(|d| {
            let status = match d {
                super::auth::Denied::CrossSite => StatusCode::FORBIDDEN,
                _ => StatusCode::UNAUTHORIZED,
            };
            AdminError { status, message: d.to_string() }
        })
    }
}

/// A JSON object body; a missing or malformed one is a clear 400 or 415.
pub(crate) struct Body<T>(T);

impl<T: DeserializeOwned> FromRequest<Admin> for Body<T> {
    type Rejection = AdminError;

    async fn from_request(req: Request, admin: &Admin) -> Result<Self, AdminError> {
        match Json::<T>::from_request(req, admin).await {
            Ok(Json(v)) => Ok(Body(v)),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(AdminError {
                status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
                message: "body: send a JSON object with content-type: application/json ({} when there are no fields)"
                    .into(),
            }),
            Err(e) => Err(AdminError::bad(format!("body: {}", e.body_text()))),
        }
    }
}

fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, AdminError> {
    q.map(|Query(v)| v).map_err(|e| AdminError::bad(format!("query: {}", e.body_text())))
}

fn id_param(what: &str, id: &str) -> Result<i64, AdminError> {
    id.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| AdminError::bad(format!("{what}: a positive number")))
}

/// No fields.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Empty {}

/// How to settle a sandbox order.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SettleBody {
    /// `success`, `fail` or `cancel`.
    outcome: Option<String>,
}

/// How far to move the sandbox clock.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AdvanceBody {
    /// Seconds, 1–2678400.
    seconds: Option<i64>,
}

/// A merchant's new status.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct StatusBody {
    /// `active` or `disabled`.
    status: Option<String>,
}

/// The API's routes, each with its OpenAPI operation.
pub(crate) fn router() -> OpenApiRouter<Admin> {
    let api = OpenApiRouter::new()
        .routes(routes!(list_orders))
        .routes(routes!(get_order))
        .routes(routes!(settle_order))
        .routes(routes!(list_requests))
        .routes(routes!(get_request))
        .routes(routes!(list_notifications))
        .routes(routes!(get_notification))
        .routes(routes!(deliver_notification))
        .routes(routes!(resend_notification))
        .routes(routes!(test_notification))
        .routes(routes!(check_handler))
        .routes(routes!(get_clock, advance_clock))
        .routes(routes!(list_merchants, add_merchant))
        .routes(routes!(set_merchant_status))
        .routes(routes!(new_merchant_secret))
        .routes(routes!(reset_merchant))
        .routes(routes!(list_faults, add_fault, clear_faults))
        .routes(routes!(clear_fault))
        .routes(routes!(openapi));
    let mut root = OpenApiRouter::new().nest("/admin/api", api);
    let doc = root.get_openapi_mut();
    doc.info.title = "OpenVMP admin API".into();
    doc.info.version = env!("CARGO_PKG_VERSION").into();
    doc.info.description = Some(
        "The developer console's operations as JSON: orders, the request log, notifications, sandbox controls, \
         merchants. Authenticate with `Authorization: Bearer <admin token>` (sandbox mode: not needed from \
         loopback). POST bodies are JSON objects."
            .into(),
    );
    root
}

/// Orders, newest first, with filters; keyset pages.
#[utoipa::path(get, path = "/orders", tag = "orders", params(OrderQuery),
    responses((status = 200, body = OrderPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn list_orders(
    _: ApiGuard,
    State(admin): State<Admin>,
    q: Result<Query<OrderQuery>, QueryRejection>,
) -> ApiResult<OrderPage> {
    Ok(Json(service::orders(&admin.state, &query(q)?).await?))
}

/// An order with its timeline: the request and answer, pay page views,
/// buyer actions, settlement, every notification attempt, refunds.
#[utoipa::path(get, path = "/orders/{eft_trade_no}", tag = "orders",
    params(("eft_trade_no" = String, Path, description = "The gateway's order number")),
    responses((status = 200, body = OrderDetail), (status = 404, body = ErrorBody)))]
async fn get_order(_: ApiGuard, State(admin): State<Admin>, Path(eft): Path<String>) -> ApiResult<OrderDetail> {
    Ok(Json(service::order_detail(&admin.state, &eft).await?))
}

/// Sandbox: settles a pending order as its buyer would.
#[utoipa::path(post, path = "/orders/{eft_trade_no}/settle", tag = "sandbox",
    params(("eft_trade_no" = String, Path, description = "The gateway's order number")), request_body = SettleBody,
    responses((status = 200, body = OrderView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn settle_order(
    _: ApiGuard,
    State(admin): State<Admin>,
    Path(eft): Path<String>,
    Body(body): Body<SettleBody>,
) -> ApiResult<OrderView> {
    Ok(Json(service::settle(&admin.state, &eft, body.outcome.as_deref()).await?))
}

/// The request log, newest first; with `after`, what came since (oldest first).
#[utoipa::path(get, path = "/requests", tag = "requests", params(RequestQuery),
    responses((status = 200, body = RequestPage), (status = 400, body = ErrorBody)))]
async fn list_requests(
    _: ApiGuard,
    State(admin): State<Admin>,
    q: Result<Query<RequestQuery>, QueryRejection>,
) -> ApiResult<RequestPage> {
    Ok(Json(service::requests(&admin.state, &query(q)?).await?))
}

/// One logged request: body, answer, reason and, for a `10`, the signature hint.
#[utoipa::path(get, path = "/requests/{id}", tag = "requests",
    params(("id" = i64, Path, description = "The request log record")),
    responses((status = 200, body = RequestDetail), (status = 404, body = ErrorBody)))]
async fn get_request(_: ApiGuard, State(admin): State<Admin>, Path(id): Path<String>) -> ApiResult<RequestDetail> {
    Ok(Json(service::request_detail(&admin.state, id_param("id", &id)?).await?))
}

/// Notifications: owed, delivered, failed.
#[utoipa::path(get, path = "/notifications", tag = "notifications", params(NotificationListQuery),
    responses((status = 200, body = NotificationPage), (status = 400, body = ErrorBody)))]
async fn list_notifications(
    _: ApiGuard,
    State(admin): State<Admin>,
    q: Result<Query<NotificationListQuery>, QueryRejection>,
) -> ApiResult<NotificationPage> {
    Ok(Json(service::notifications(&admin.state, &query(q)?).await?))
}

/// One notification with every attempt (body sent, HTTP status, answer, latency, error).
#[utoipa::path(get, path = "/notifications/{id}", tag = "notifications",
    params(("id" = i64, Path, description = "The notification")),
    responses((status = 200, body = NotificationView), (status = 404, body = ErrorBody)))]
async fn get_notification(
    _: ApiGuard,
    State(admin): State<Admin>,
    Path(id): Path<String>,
) -> ApiResult<NotificationView> {
    Ok(Json(service::notification(&admin.state, id_param("id", &id)?).await?))
}

/// Deliver now: an owed notification's next attempt, at once.
#[utoipa::path(post, path = "/notifications/{id}/deliver", tag = "notifications",
    params(("id" = i64, Path, description = "The notification")), request_body = Empty,
    responses((status = 200, body = Done), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn deliver_notification(
    _: ApiGuard,
    State(admin): State<Admin>,
    Path(id): Path<String>,
    Body(Empty {}): Body<Empty>,
) -> ApiResult<Done> {
    Ok(Json(service::deliver_now(&admin, id_param("id", &id)?).await?))
}

/// Resend: a new delivery of a delivered or failed notification.
#[utoipa::path(post, path = "/notifications/{id}/resend", tag = "notifications",
    params(("id" = i64, Path, description = "The notification")), request_body = Empty,
    responses((status = 200, body = NotificationView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn resend_notification(
    _: ApiGuard,
    State(admin): State<Admin>,
    Path(id): Path<String>,
    Body(Empty {}): Body<Empty>,
) -> ApiResult<NotificationView> {
    Ok(Json(service::resend(&admin, id_param("id", &id)?).await?))
}

/// Sends a test notification now and reports what the URL answered.
#[utoipa::path(post, path = "/notifications/test", tag = "notifications", request_body = TestNotificationForm,
    responses((status = 200, body = TestNotificationResult), (status = 400, body = ErrorBody)))]
async fn test_notification(
    _: ApiGuard,
    State(admin): State<Admin>,
    Body(form): Body<TestNotificationForm>,
) -> ApiResult<TestNotificationResult> {
    Ok(Json(service::test_notification(&admin, &form).await?))
}

/// Sandbox: grades a notify handler (what `vmp check-handler` does) and
/// reports every case.
#[utoipa::path(post, path = "/check-handler", tag = "sandbox", request_body = CheckHandlerForm,
    responses((status = 200, description = "The report: passed, failed, each case with its steps"),
        (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn check_handler(_: ApiGuard, State(admin): State<Admin>, Body(form): Body<CheckHandlerForm>) -> Response {
    match service::check_handler(&admin.state, &form).await {
        Ok(report) => Json(report).into_response(),
        Err(e) => e.into_response(),
    }
}

/// The sandbox clock.
#[utoipa::path(get, path = "/sandbox/clock", tag = "sandbox", responses((status = 200, body = ClockView)))]
async fn get_clock(_: ApiGuard, State(admin): State<Admin>) -> Json<ClockView> {
    Json(service::clock(&admin.state))
}

/// Moves the sandbox clock forward.
#[utoipa::path(post, path = "/sandbox/clock", tag = "sandbox", request_body = AdvanceBody,
    responses((status = 200, body = ClockView), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn advance_clock(_: ApiGuard, State(admin): State<Admin>, Body(body): Body<AdvanceBody>) -> ApiResult<ClockView> {
    let seconds = body.seconds.map(|s| s.to_string());
    Ok(Json(service::advance_clock(&admin.state, seconds.as_deref()).await?))
}

/// Merchants, oldest first (never their secrets).
#[utoipa::path(get, path = "/merchants", tag = "merchants", responses((status = 200, body = Vec<MerchantView>)))]
async fn list_merchants(_: ApiGuard, State(admin): State<Admin>) -> ApiResult<Vec<MerchantView>> {
    Ok(Json(service::merchants(&admin.state).await?))
}

/// Adds a merchant; its secret is in this answer and never again.
#[utoipa::path(post, path = "/merchants", tag = "merchants", request_body = NewMerchantForm,
    responses((status = 200, body = MerchantCredentials), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn add_merchant(
    _: ApiGuard,
    State(admin): State<Admin>,
    Body(form): Body<NewMerchantForm>,
) -> ApiResult<MerchantCredentials> {
    Ok(Json(service::add_merchant(&admin.state, &form).await?))
}

/// Enables or disables a merchant.
#[utoipa::path(post, path = "/merchants/{key}/status", tag = "merchants",
    params(("key" = String, Path, description = "user_confirm_key")), request_body = StatusBody,
    responses((status = 200, body = Done), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn set_merchant_status(
    _: ApiGuard,
    State(admin): State<Admin>,
    Path(key): Path<String>,
    Body(body): Body<StatusBody>,
) -> ApiResult<Done> {
    Ok(Json(service::set_merchant_status(&admin.state, &key, body.status.as_deref()).await?))
}

/// Gives a merchant a new secret; it is in this answer and never again.
#[utoipa::path(post, path = "/merchants/{key}/secret", tag = "merchants",
    params(("key" = String, Path, description = "user_confirm_key")), request_body = Empty,
    responses((status = 200, body = MerchantCredentials), (status = 404, body = ErrorBody)))]
async fn new_merchant_secret(
    _: ApiGuard,
    State(admin): State<Admin>,
    Path(key): Path<String>,
    Body(Empty {}): Body<Empty>,
) -> ApiResult<MerchantCredentials> {
    Ok(Json(service::new_secret(&admin.state, &key).await?))
}

/// Sandbox: deletes a merchant's orders and everything about them.
#[utoipa::path(post, path = "/merchants/{key}/reset", tag = "sandbox",
    params(("key" = String, Path, description = "user_confirm_key")), request_body = Empty,
    responses((status = 200, body = Done), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn reset_merchant(
    _: ApiGuard,
    State(admin): State<Admin>,
    Path(key): Path<String>,
    Body(Empty {}): Body<Empty>,
) -> ApiResult<Done> {
    Ok(Json(service::reset_merchant(&admin.state, &key).await?))
}

/// Sandbox: the merchant's fault rules, oldest first.
#[utoipa::path(get, path = "/merchants/{key}/faults", tag = "sandbox",
    params(("key" = String, Path, description = "user_confirm_key")),
    responses((status = 200, body = Vec<FaultView>), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn list_faults(_: ApiGuard, State(admin): State<Admin>, Path(key): Path<String>) -> ApiResult<Vec<FaultView>> {
    Ok(Json(service::faults(&admin.state, &key).await?))
}

/// Sandbox: adds a fault rule (the sandbox API's rule, e.g.
/// `{"operation":"refund","return_status":"51","count":1}` or
/// `{"notification":"duplicate"}`; docs/protocol.md "Sandbox faults").
#[utoipa::path(post, path = "/merchants/{key}/faults", tag = "sandbox",
    params(("key" = String, Path, description = "user_confirm_key")),
    request_body(content = Object, description = "A fault rule"),
    responses((status = 200, body = FaultView), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
async fn add_fault(
    _: ApiGuard,
    State(admin): State<Admin>,
    Path(key): Path<String>,
    Body(rule): Body<serde_json::Value>,
) -> ApiResult<FaultView> {
    let rule = serde_json::to_vec(&rule).map_err(|e| AdminError::bad(format!("body: {e}")))?;
    Ok(Json(service::add_fault(&admin.state, &key, &rule).await?))
}

/// Sandbox: deletes every fault rule of the merchant.
#[utoipa::path(delete, path = "/merchants/{key}/faults", tag = "sandbox",
    params(("key" = String, Path, description = "user_confirm_key")),
    responses((status = 200, body = Done), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn clear_faults(_: ApiGuard, State(admin): State<Admin>, Path(key): Path<String>) -> ApiResult<Done> {
    Ok(Json(service::clear_faults(&admin.state, &key, None).await?))
}

/// Sandbox: deletes one fault rule.
#[utoipa::path(delete, path = "/merchants/{key}/faults/{id}", tag = "sandbox",
    params(("key" = String, Path, description = "user_confirm_key"), ("id" = i64, Path, description = "The rule")),
    responses((status = 200, body = Done), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn clear_fault(
    _: ApiGuard,
    State(admin): State<Admin>,
    Path((key, id)): Path<(String, String)>,
) -> ApiResult<Done> {
    Ok(Json(service::clear_faults(&admin.state, &key, Some(id_param("id", &id)?)).await?))
}

/// This document (OpenAPI 3.1), generated from the handlers.
#[utoipa::path(get, path = "/openapi.json", tag = "meta", responses((status = 200, description = "OpenAPI 3.1 JSON")))]
async fn openapi(State(admin): State<Admin>) -> Response {
    let doc = admin.openapi.get().cloned().unwrap_or_else(|| "{}".to_owned());
    ([(axum::http::header::CONTENT_TYPE, "application/json")], doc).into_response()
}
