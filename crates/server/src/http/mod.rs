//! HTTP: the router, reading VMP bodies, and rendering VMP answers.

mod cashier_page;
mod jsapi;
mod page_texts;
mod pages;
mod pay_page;
mod sandbox;
mod wallet_page;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use http_body_util::BodyExt;
use secrecy::ExposeSecret;
use vmp_protocol::{Params, ReturnStatus, answer};

use crate::error::{ApiError, BODY_LIMIT};
use crate::journal::Exchange;
use crate::state::AppState;

/// The gateway's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/VMP/Servlet/{servlet}", post(jsapi::servlet))
        .route("/VMP/wap/payPage", get(pay_page::pay_page).post(pay_page::pay_action))
        .route("/VMP/web/payPage", get(pay_page::pay_page).post(pay_page::pay_action))
        .route(crate::paylink::QR_SCAN_PATH, get(pay_page::pay_page).post(pay_page::pay_action))
        .route(cashier_page::CASHIER_PATH, post(cashier_page::choose))
        .route("/sandbox/orders/{eft_trade_no}/pay", post(sandbox::pay))
        .route(wallet_page::BRIDGE_PATH, get(wallet_page::bridge_page).post(wallet_page::bridge_action))
        .route(wallet_page::APP_PATH, get(wallet_page::app_page).post(wallet_page::app_action))
        .route("/sandbox/merchants/{key}/orders/{out_trade_no}/pay", post(sandbox::pay_by_out_trade_no))
        .route(
            "/sandbox/merchants/{key}/faults",
            get(sandbox::list_faults).post(sandbox::add_fault).delete(sandbox::clear_faults),
        )
        .route("/sandbox/merchants/{key}/faults/{id}", delete(sandbox::clear_fault))
        .route("/sandbox/clock", get(sandbox::clock))
        .route("/sandbox/clock/advance", post(sandbox::advance))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(crate::readiness::readyz))
        .with_state(state)
}

/// Reads the whole body, refusing more than [`BODY_LIMIT`] bytes.
async fn read_body(body: Body) -> Result<Vec<u8>, ApiError> {
    let mut body = body;
    let mut buf = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| ApiError::BodyRead)?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > BODY_LIMIT {
                return Err(ApiError::BodyTooLarge);
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf)
}

/// A VMP JSON answer (HTTP 200, like eftPay; 429 only for rate limits).
fn json_response(params: &Params) -> Response {
    let mut resp = params.to_json().into_response();
    resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json;charset=UTF-8"));
    resp
}

/// Renders the outcome of one VMP request. Codes `>= 00` are signed with the
/// caller's secret (the one that verified the request) when the merchant is
/// known; negative codes are not.
/// `return_char` is eftPay's text for the code; the detailed reason is
/// logged, and the request finishes in the request log here
/// ([`crate::journal::finish`], the one hook).
fn render(state: &AppState, result: Result<Params, ApiError>, ex: Exchange) -> Response {
    let now = state.clock().now();
    let limited = matches!(result, Err(ApiError::RateLimited(_)));
    let merchant = ex.merchant.as_ref();
    let secret = merchant.filter(|m| m.has_secret()).map(|m| m.secret().expose_secret());
    let mut reason = None;
    let (status, out) = match result {
        Ok(body) => match secret {
            Some(secret) => (ReturnStatus::Accepted, answer::signed(secret, ReturnStatus::Accepted, "", body, now)),
            None => (
                ReturnStatus::SystemError,
                answer::unsigned(ReturnStatus::SystemError, ReturnStatus::SystemError.template()),
            ),
        },
        Err(e) => {
            let status = e.return_status();
            let text = e.return_char();
            match &e {
                ApiError::Store(inner) => {
                    crate::metrics::database_error("request");
                    if inner.is_outage() {
                        // The store logged the outage once; not once per request.
                        tracing::debug!(error.message = %inner, "request failed: the store is down");
                    } else {
                        tracing::error!(error.message = %inner, error.cause_chain = ?inner, "request failed in the store");
                    }
                }
                _ => {
                    tracing::info!(return_status = status.code(), reason = %e, merchant = merchant.map(|m| m.key.as_str()), "request refused")
                }
            }
            if state.journal_settings().enabled() {
                reason = Some(e.to_string());
            }
            let out = match secret {
                Some(secret) if status.is_signed() => answer::signed(secret, status, &text, Params::new(), now),
                _ => answer::unsigned(status, &text),
            };
            (status, out)
        }
    };
    crate::metrics::note_return_status(status.code());
    let mut resp = json_response(&out);
    if limited {
        *resp.status_mut() = axum::http::StatusCode::TOO_MANY_REQUESTS;
        resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    crate::journal::finish(state, ex, status, reason, &out);
    resp
}
