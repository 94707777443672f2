//! The sandbox HTTP API for merchants' CI (sandbox mode only; 404 in
//! production): settle an order without a browser, move the clock.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use vmp_protocol::vmptime::format_time;

use crate::config::Mode;
use crate::lifecycle::{self, ActionResult, BuyerAction};
use crate::state::AppState;

/// Largest single clock move: 31 days.
const MAX_ADVANCE_SECONDS: i64 = 31 * 24 * 3600;

#[derive(Debug, Deserialize)]
pub(crate) struct PayBody {
    outcome: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct AdvanceBody {
    seconds: i64,
}

fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}

fn sandbox_only(state: &AppState) -> Option<Response> {
    (state.mode() != Mode::Sandbox).then(|| error(StatusCode::NOT_FOUND, "not found"))
}

pub(crate) async fn pay(
    State(state): State<AppState>,
    Path(eft_trade_no): Path<String>,
    body: Result<Json<PayBody>, JsonRejection>,
) -> Response {
    if let Some(r) = sandbox_only(&state) {
        return r;
    }
    let Ok(Json(body)) = body else {
        return error(StatusCode::BAD_REQUEST, r#"body must be JSON {"outcome":"success"|"fail"}"#);
    };
    let action = match body.outcome.as_str() {
        "success" => BuyerAction::Pay,
        "fail" => BuyerAction::Fail,
        _ => return error(StatusCode::BAD_REQUEST, r#"outcome must be "success" or "fail""#),
    };
    if eft_trade_no.is_empty() || eft_trade_no.len() > 28 || !eft_trade_no.bytes().all(|b| b.is_ascii_digit()) {
        return error(StatusCode::NOT_FOUND, "order not found");
    }
    let order = match state.store().order_by_eft_trade_no(&eft_trade_no).await {
        Ok(Some(o)) => o,
        Ok(None) => return error(StatusCode::NOT_FOUND, "order not found"),
        Err(e) => {
            tracing::error!(error.message = %e, "sandbox pay lookup failed");
            return error(StatusCode::SERVICE_UNAVAILABLE, "temporarily unavailable");
        }
    };
    let outcome = lifecycle::buyer_action(&state, &order, action, None).await;
    if let Ok(r) = &outcome {
        crate::journal::event(
            &state,
            order.eft_trade_no.as_str(),
            crate::journal::EventKind::SandboxAction,
            json!({ "action": body.outcome, "result": r.describe() }),
        );
    }
    let (result, order) = match outcome {
        Ok(ActionResult::Settled(o)) => ("settled", o),
        Ok(ActionResult::AlreadyFinal(o)) => ("already_final", o),
        Ok(ActionResult::Expired(o)) => ("expired", o),
        Ok(ActionResult::ServerErrorNoState) => ("server_error_no_state", order),
        Err(e) => {
            tracing::error!(error.message = %e, "sandbox pay failed");
            return error(StatusCode::SERVICE_UNAVAILABLE, "temporarily unavailable");
        }
    };
    Json(json!({
        "eft_trade_no": order.eft_trade_no.as_str(),
        "out_trade_no": order.out_trade_no.as_str(),
        "result": result,
        "trade_status": order.state.as_str(),
    }))
    .into_response()
}

pub(crate) async fn clock(State(state): State<AppState>) -> Response {
    if let Some(r) = sandbox_only(&state) {
        return r;
    }
    Json(json!({ "now": format_time(state.clock().now()) })).into_response()
}

pub(crate) async fn advance(State(state): State<AppState>, body: Result<Json<AdvanceBody>, JsonRejection>) -> Response {
    if let Some(r) = sandbox_only(&state) {
        return r;
    }
    let Ok(Json(body)) = body else { return error(StatusCode::BAD_REQUEST, r#"body must be JSON {"seconds":N}"#) };
    if !(1..=MAX_ADVANCE_SECONDS).contains(&body.seconds) {
        return error(StatusCode::BAD_REQUEST, "seconds must be between 1 and 2678400");
    }
    if let Err(limit) = state.clock().advance(body.seconds) {
        let message = format!(
            "the sandbox clock is already {} s ahead and may run at most {} s (10 years) ahead in total; \
             restart the gateway to reset it",
            limit.current_seconds,
            crate::clock::MAX_OFFSET_SECONDS
        );
        return error(StatusCode::CONFLICT, &message);
    }
    state.wake_sweeper();
    state.wake_notifier();
    tracing::info!(seconds = body.seconds, "sandbox clock advanced");
    Json(json!({ "advanced": body.seconds, "now": format_time(state.clock().now()) })).into_response()
}
