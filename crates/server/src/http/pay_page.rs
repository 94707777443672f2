//! The hosted page behind `pay_apptrade`. For now a plain "order pending"
//! page; the interactive sandbox checkout pages come with the lifecycle.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;
use time::OffsetDateTime;
use vmp_protocol::Amount;

use super::html::escape;
use crate::state::AppState;
use crate::store::OrderRecord;

#[derive(Debug, Deserialize)]
pub(crate) struct PayPageQuery {
    userkey: Option<String>,
    #[serde(rename = "outTradeNo")]
    out_trade_no: Option<String>,
    sign: Option<String>,
}

pub(crate) async fn pay_page(
    State(state): State<AppState>,
    query: Result<Query<PayPageQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(q)) = query else {
        return not_found();
    };
    let (Some(userkey), Some(out_trade_no), Some(sign)) = (q.userkey, q.out_trade_no, q.sign)
    else {
        return not_found();
    };
    let order = match state
        .store()
        .order_by_out_trade_no(&userkey, &out_trade_no)
        .await
    {
        Ok(Some(o)) => o,
        Ok(None) => return not_found(),
        Err(e) => {
            tracing::error!(error.message = %e, "pay page lookup failed");
            return (StatusCode::SERVICE_UNAVAILABLE, "temporarily unavailable").into_response();
        }
    };
    // Same answer for "no such order" and "bad token": a link reveals nothing.
    if !state.links().verify(
        &order.user_confirm_key,
        &order.out_trade_no,
        &order.eft_trade_no,
        &sign,
    ) {
        return not_found();
    }
    let mut resp = Html(render(&order, state.clock().now())).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Html("<!doctype html><title>Not found</title><p>This payment link is not valid.</p>"),
    )
        .into_response()
}

fn render(o: &OrderRecord, now: OffsetDateTime) -> String {
    let amount = Amount::from_minor(o.amount_minor)
        .map(Amount::to_decimal_string)
        .unwrap_or_else(|| o.amount_text.clone());
    let left = (o.expires_at - now.unix_timestamp()).max(0);
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>OpenVMP payment</title></head><body>\
         <h1>Order pending</h1>\
         <dl><dt>Amount</dt><dd id=\"amount\">{currency} {amount}</dd>\
         <dt>Subject</dt><dd id=\"subject\">{subject}</dd>\
         <dt>Order</dt><dd id=\"out_trade_no\">{out}</dd>\
         <dt>Wallet</dt><dd>{wallet}</dd>\
         <dt>Time left</dt><dd id=\"time_left\">{mins} min {secs} s</dd></dl>\
         </body></html>",
        currency = escape(&o.currency),
        subject = escape(&o.subject),
        out = escape(&o.out_trade_no),
        wallet = escape(&o.wallet),
        mins = left / 60,
        secs = left % 60,
    )
}
