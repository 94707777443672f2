//! The sandbox HTTP API for merchants' CI (sandbox mode only; 404 in
//! production): settle an order without a browser, move the clock, and the
//! merchant's fault rules (`crate::faults`).
//!
//! Bodies are JSON whatever the `Content-Type` (curl's `-d` sends a form
//! type); refusals are `{"error": "…"}` with a 4xx status.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use vmp_protocol::faults::FaultRule;
use vmp_protocol::vmptime::format_time;

use crate::config::Mode;
use crate::domain::Order;
use crate::faults::{self, FaultAdminError};
use crate::lifecycle::{self, ActionResult, BuyerAction};
use crate::state::AppState;

/// Largest single clock move: 31 days.
const MAX_ADVANCE_SECONDS: i64 = 31 * 24 * 3600;

#[derive(Debug, Deserialize)]
pub(crate) struct PayBody {
    outcome: String,
    /// For a cashier order: the wallet the buyer picks first.
    wallet: Option<String>,
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

/// Reads a JSON body, whatever its `Content-Type` says; the refusal's text.
fn json_body<T: DeserializeOwned>(body: &[u8], shape: &str) -> Result<T, String> {
    serde_json::from_slice(body).map_err(|e| format!("body must be JSON {shape}: {e}"))
}

fn unavailable(what: &str, e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error.message = %e, "sandbox {what} failed");
    error(StatusCode::SERVICE_UNAVAILABLE, "temporarily unavailable")
}

/// `POST /sandbox/orders/{eft_trade_no}/pay`.
pub(crate) async fn pay(State(state): State<AppState>, Path(eft_trade_no): Path<String>, body: Bytes) -> Response {
    if let Some(r) = sandbox_only(&state) {
        return r;
    }
    let action = match buyer_action(&body) {
        Ok(a) => a,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    if eft_trade_no.is_empty() || eft_trade_no.len() > 28 || !eft_trade_no.bytes().all(|b| b.is_ascii_digit()) {
        return error(StatusCode::NOT_FOUND, "order not found");
    }
    match state.store().order_by_eft_trade_no(&eft_trade_no).await {
        Ok(Some(o)) => settle(&state, o, action).await,
        Ok(None) => error(StatusCode::NOT_FOUND, "order not found"),
        Err(e) => unavailable("pay lookup", &e),
    }
}

/// `POST /sandbox/merchants/{key}/orders/{out_trade_no}/pay`: the same,
/// naming the order as the merchant does.
pub(crate) async fn pay_by_out_trade_no(
    State(state): State<AppState>,
    Path((key, out_trade_no)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    if let Some(r) = sandbox_only(&state) {
        return r;
    }
    let action = match buyer_action(&body) {
        Ok(a) => a,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
    match state.store().order_by_out_trade_no(&key, &out_trade_no).await {
        Ok(Some(o)) => settle(&state, o, action).await,
        Ok(None) => error(StatusCode::NOT_FOUND, "order not found for this merchant"),
        Err(e) => unavailable("pay lookup", &e),
    }
}

/// What the buyer does, and for a cashier order the wallet they pick
/// first (`"wallet"`).
fn buyer_action(body: &[u8]) -> Result<(BuyerAction, Option<String>), String> {
    let body: PayBody = json_body(body, r#"{"outcome":"success"|"fail"|"cancel"}"#)?;
    let action = match body.outcome.as_str() {
        "success" => BuyerAction::Pay,
        "fail" => BuyerAction::Fail,
        "cancel" => BuyerAction::Cancel,
        _ => return Err(r#"outcome must be "success", "fail" or "cancel""#.to_owned()),
    };
    Ok((action, body.wallet))
}

/// Settles as the buyer would. `200` when this call decided the outcome
/// (or the magic amount `.45` answered a server error with no state);
/// `409` with the order's state when it was already final or had expired.
async fn settle(state: &AppState, order: Order, (action, wallet): (BuyerAction, Option<String>)) -> Response {
    let order = match wallet.as_deref() {
        None => order,
        Some(w) => match choose_wallet(state, &order, w).await {
            Ok(o) => o,
            Err(r) => return r,
        },
    };
    let outcome = lifecycle::buyer_action(state, &order, action, None).await;
    if let Ok(r) = &outcome {
        crate::journal::event(
            state,
            order.eft_trade_no.as_str(),
            crate::journal::EventKind::SandboxAction,
            json!({ "action": action.as_str(), "result": r.describe() }),
        );
    }
    let (status, result, order) = match outcome {
        Ok(ActionResult::Settled(o)) => (StatusCode::OK, "settled", o),
        Ok(ActionResult::AlreadyFinal(o)) => (StatusCode::CONFLICT, "already_final", o),
        Ok(ActionResult::Expired(o)) => (StatusCode::CONFLICT, "expired", o),
        Ok(ActionResult::ServerErrorNoState) => (StatusCode::OK, "server_error_no_state", order),
        Ok(ActionResult::WalletNotChosen) => {
            return error(
                StatusCode::CONFLICT,
                r#"this cashier order has no wallet yet: send the buyer's choice with the outcome, e.g. {"outcome":"success","wallet":"ALIPAYHK"}"#,
            );
        }
        Err(e) => return unavailable("pay", &e),
    };
    let trade_status = order.state.wire_str();
    let mut answer = json!({
        "eft_trade_no": order.eft_trade_no.as_str(),
        "out_trade_no": order.out_trade_no.as_str(),
        "result": result,
        "trade_status": trade_status,
    });
    if status == StatusCode::CONFLICT {
        let why = if result == "expired" { "the order had expired" } else { "the order is already final" };
        answer["error"] = json!(format!("{why} ({trade_status}); nothing changed"));
    }
    (status, Json(answer)).into_response()
}

/// The buyer of a cashier order picks `wallet` (the sandbox API's
/// `"wallet"`); the order as it is then.
async fn choose_wallet(
    state: &AppState,
    order: &crate::domain::Order,
    wallet: &str,
) -> Result<crate::domain::Order, Response> {
    let bad = |message: &str| error(StatusCode::BAD_REQUEST, message);
    let Some(wallet) = vmp_protocol::Wallet::parse(wallet) else {
        return Err(bad("wallet is not a wallet of the cashier (e.g. ALIPAYHK)"));
    };
    match crate::scenes::cashier::choose(state, order, wallet).await {
        Ok(Ok(o)) => Ok(o),
        Ok(Err(crate::domain::ChoiceRefusal::NotCashier)) => Err(bad("wallet applies to cashier orders only")),
        Ok(Err(_)) => Err(bad("the cashier does not offer this wallet")),
        Err(e) => {
            tracing::error!(error.message = %e, "sandbox wallet choice failed");
            Err(error(StatusCode::SERVICE_UNAVAILABLE, "temporarily unavailable"))
        }
    }
}

pub(crate) async fn clock(State(state): State<AppState>) -> Response {
    if let Some(r) = sandbox_only(&state) {
        return r;
    }
    Json(json!({ "now": format_time(state.clock().now()) })).into_response()
}

pub(crate) async fn advance(State(state): State<AppState>, body: Bytes) -> Response {
    if let Some(r) = sandbox_only(&state) {
        return r;
    }
    let body: AdvanceBody = match json_body(&body, r#"{"seconds":N}"#) {
        Ok(b) => b,
        Err(message) => return error(StatusCode::BAD_REQUEST, &message),
    };
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

// ---- fault rules (crate::faults; the console mounts the same functions) ----

fn fault_error(e: &FaultAdminError) -> Response {
    match e {
        FaultAdminError::NotSandbox => error(StatusCode::NOT_FOUND, "not found"),
        FaultAdminError::UnknownMerchant(_) | FaultAdminError::UnknownRule(_) => {
            error(StatusCode::NOT_FOUND, &e.to_string())
        }
        FaultAdminError::Rule(r) => error(StatusCode::BAD_REQUEST, &r.to_string()),
        FaultAdminError::Store(s) => unavailable("fault rules", s),
    }
}

/// `GET /sandbox/merchants/{key}/faults`: `{"faults":[rule…]}`, oldest first.
pub(crate) async fn list_faults(State(state): State<AppState>, Path(key): Path<String>) -> Response {
    match faults::list(&state, &key).await {
        Ok(all) => {
            Json(json!({ "faults": all.iter().map(faults::StoredFault::to_spec).collect::<Vec<_>>() })).into_response()
        }
        Err(e) => fault_error(&e),
    }
}

/// `POST /sandbox/merchants/{key}/faults` with a rule: `201` and the stored
/// rule (with `id` and `remaining`).
pub(crate) async fn add_fault(State(state): State<AppState>, Path(key): Path<String>, body: Bytes) -> Response {
    if let Some(r) = sandbox_only(&state) {
        return r;
    }
    let rule = match FaultRule::from_json(&body) {
        Ok(r) => r,
        Err(e) => return fault_error(&FaultAdminError::Rule(e)),
    };
    match faults::add(&state, &key, rule).await {
        Ok(stored) => (StatusCode::CREATED, Json(stored.to_spec())).into_response(),
        Err(e) => fault_error(&e),
    }
}

/// `DELETE /sandbox/merchants/{key}/faults`: `{"cleared":N}`.
pub(crate) async fn clear_faults(State(state): State<AppState>, Path(key): Path<String>) -> Response {
    match faults::clear(&state, &key, None).await {
        Ok(n) => Json(json!({ "cleared": n })).into_response(),
        Err(e) => fault_error(&e),
    }
}

/// `DELETE /sandbox/merchants/{key}/faults/{id}`: `{"cleared":1}`, or 404.
pub(crate) async fn clear_fault(State(state): State<AppState>, Path((key, id)): Path<(String, String)>) -> Response {
    let Ok(id) = id.parse::<i64>() else {
        return error(StatusCode::NOT_FOUND, "a fault rule id is a number");
    };
    match faults::clear(&state, &key, Some(id)).await {
        Ok(n) => Json(json!({ "cleared": n })).into_response(),
        Err(e) => fault_error(&e),
    }
}
